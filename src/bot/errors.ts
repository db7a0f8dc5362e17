// Commands and flows throw UserFacingError for refusals a user can act on; the router shows its message
// ephemerally. Anything else is a bug or an outage: logged in full, and the user only hears that it failed.
export class UserFacingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserFacingError';
  }
}

export function isUserFacing(error: unknown): error is UserFacingError {
  return error instanceof UserFacingError;
}

/** The refusal of anything that needs a recording in progress (`/record stop`, `/note`, the note button). */
export const NOTHING_RECORDED = 'Nothing is being recorded in this server.';
