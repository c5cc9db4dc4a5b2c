/** 0 ok, 1 the operation failed (no ack, nothing to retry), 2 bad usage or configuration. */
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
