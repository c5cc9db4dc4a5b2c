/** Errors a FastAGI caller can branch on. Each maps to one wire outcome (reference/agi.md §4, §10). */

export class AgiError extends Error {
  override name = 'AgiError';
}

/** A command or phase outlived its deadline. The stream is no longer in sync; the session closes. */
export class AgiTimeoutError extends AgiError {
  override name = 'AgiTimeoutError';
}

/** The peer closed or reset the connection while something was pending. */
export class AgiClosedError extends AgiError {
  override name = 'AgiClosedError';
}

/** 510: unknown command, or its module is not loaded. */
export class AgiInvalidCommandError extends AgiError {
  override name = 'AgiInvalidCommandError';
}

/** 511: not permitted on a dead channel (hangup handler, after HANGUP). */
export class AgiDeadChannelError extends AgiError {
  override name = 'AgiDeadChannelError';
}

/** 520: usage error; `usage` holds the text between the 520 lines. */
export class AgiUsageError extends AgiError {
  override name = 'AgiUsageError';
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

/** Bytes that fit no form of the protocol: over-long line, unknown reply, bad header. */
export class AgiProtocolError extends AgiError {
  override name = 'AgiProtocolError';
}
