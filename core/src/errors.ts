/**
 * The named errors every ReefGuard package throws. Each says what went wrong and how to fix
 * it; the original failure travels in `cause`. Only `serving` translates them to HTTP.
 */
export class ReefGuardError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A setting is missing or invalid; raised once at start-up by `loadConfig`. */
export class ConfigError extends ReefGuardError {}

/** A message, file or record does not match its contract; carries a machine-readable reason. */
export class ValidationError extends ReefGuardError {
  constructor(
    message: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A file or product could not be read (corrupt, truncated, wrong format). */
export class InputFormatError extends ReefGuardError {}

/** A broker, store or HTTP endpoint could not be reached or answered wrongly. */
export class TransportError extends ReefGuardError {}

/** A model file is missing, corrupt, fails its checksum or disagrees with its card. */
export class ModelError extends ReefGuardError {}

/** A site, model version or other named thing does not exist. */
export class NotFoundError extends ReefGuardError {}
