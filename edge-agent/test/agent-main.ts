// Runs the edge-agent CLI in a child process, as the crash test and the benchmark need.
import { run } from '../src/cli.js';

process.exitCode = await run(process.argv.slice(2));
