// One progress line on stderr while a scenario runs: rewritten in place on a terminal, printed at
// most every few seconds elsewhere (CI logs), silent when the caller asks.

export interface Progress {
  update(text: string): void;
  done(): void;
}

export function createProgress(quiet = false): Progress {
  const tty = process.stderr.isTTY;
  let last = 0;
  let shown = false;
  return {
    update(text) {
      if (quiet) return;
      if (tty) {
        process.stderr.write(`\r\x1b[2K${text.slice(0, (process.stderr.columns || 120) - 1)}`);
        shown = true;
      } else if (Date.now() - last > 5_000) {
        last = Date.now();
        process.stderr.write(`${text}\n`);
      }
    },
    done() {
      if (tty && shown) process.stderr.write('\r\x1b[2K');
      shown = false;
      last = 0;
    },
  };
}

export const silentProgress: Progress = { update: () => undefined, done: () => undefined };
