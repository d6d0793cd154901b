// The bot challenge of a ticket type with join_challenge (issue 13): an ALTCHA proof of work
// (altcha-lib, SHA-256 in deterministic mode, so that the organiser's difficulty is the largest
// counter a solver may have to try). A challenge is signed with a secret derived from the signing
// key, names its ticket type, expires, and is accepted once across all processes (Redis).
import { createChallenge, randomInt, verifySolution, type Challenge, type Payload } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/sha';
import type { TicketTypeRule } from '../domain/catalog.ts';
import { challengeFailed, challengeRequired } from '../domain/errors.ts';
import type { RedisClient } from '../redis/client.ts';
import { spendChallenge } from '../redis/challenges.ts';

const EXPIRES_MS = 10 * 60_000;
const ALGORITHM = 'SHA-256';

export class JoinChallenges {
  private readonly hmacSecret: string;
  private readonly hmacKeySecret: string;

  constructor(
    private readonly redis: RedisClient,
    private readonly spentPrefix: string,
    secret: Buffer,
  ) {
    this.hmacSecret = secret.toString('hex');
    this.hmacKeySecret = `${this.hmacSecret}:keys`;
  }

  /** A fresh challenge for joining ticket type `rule.id`. */
  create(rule: TicketTypeRule): Promise<Challenge> {
    return createChallenge({
      algorithm: ALGORITHM,
      cost: 1,
      counter: randomInt(rule.challenge_difficulty),
      deriveKey,
      hmacSignatureSecret: this.hmacSecret,
      hmacKeySignatureSecret: this.hmacKeySecret,
      expiresAt: new Date(Date.now() + EXPIRES_MS),
      data: { ticket_type_id: rule.id },
    });
  }

  /**
   * Accepts a join's solved challenge (the widget's base64 payload), once; otherwise throws
   * challenge_required (none sent) or challenge_failed (wrong, expired, for another ticket type, or
   * used), each with a fresh challenge. Nothing else has happened when it throws.
   */
  async redeem(rule: TicketTypeRule, encoded: string | undefined): Promise<void> {
    if (!encoded) throw challengeRequired(await this.create(rule));
    const payload = parse(encoded);
    const params = payload?.challenge.parameters;
    const valid = payload && params?.data?.ticket_type_id === rule.id && params.algorithm === ALGORITHM
      && (await verifySolution({
        challenge: payload.challenge, solution: payload.solution, deriveKey,
        hmacSignatureSecret: this.hmacSecret, hmacKeySignatureSecret: this.hmacKeySecret,
      }).catch(() => ({ verified: false }))).verified;
    // Spent only once verified, so that a forged payload cannot burn someone else's challenge.
    const fresh = valid && (await spendChallenge(this.redis, this.spentPrefix + params!.nonce, (params!.expiresAt ?? 0) * 1000 - Date.now()));
    if (!fresh) throw challengeFailed(await this.create(rule));
  }
}

function parse(encoded: string): Payload | undefined {
  try {
    const payload = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as Payload;
    return typeof payload?.challenge?.parameters?.nonce === 'string' && typeof payload.solution === 'object' ? payload : undefined;
  } catch {
    return undefined;
  }
}
