import { main } from './main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // One place logs a failed command: its name and message, and the cause chain.
    let current: unknown = error;
    let prefix = '';
    while (current instanceof Error) {
      console.error(`${prefix}${current.name}: ${current.message}`);
      current = current.cause;
      prefix = '  caused by ';
    }
    if (current !== undefined && !(current instanceof Error)) console.error(current);
    process.exitCode = 1;
  },
);
