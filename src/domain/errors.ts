// Errors with stable snake_case codes that clients branch on; the HTTP layer maps them to JSON.

export class AppError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new AppError(404, 'not_found', `${what} does not exist.`);
export const unavailable = (what: string) =>
  new AppError(503, 'service_unavailable', `${what} is unavailable right now; try again in a few seconds.`);
