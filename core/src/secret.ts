import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * A secret setting (API key, token, webhook URL). It prints as `[redacted]` through
 * `String()`, JSON, `util.inspect` and pino, so a logged config never leaks it;
 * `reveal()` is the one way to read it, at the call that needs it.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
