import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { ConfigError } from './errors.js';

/**
 * Starts the worker module `name` (no extension) that sits next to the calling module
 * (`callerUrl`: its `import.meta.url`): the compiled `name.js` when the caller is compiled, or,
 * when it runs from its TypeScript source (tests, tsx), `name.ts` loaded through tsx's ESM
 * hooks. `what` names the threads in the error when tsx is missing.
 */
export function startModuleWorker(
  callerUrl: string,
  name: string,
  options: WorkerOptions,
  what: string,
): Worker {
  if (callerUrl.endsWith('.js')) return new Worker(new URL(`./${name}.js`, callerUrl), options);
  let tsxPackage: string;
  try {
    tsxPackage = createRequire(callerUrl).resolve('tsx/package.json');
  } catch (cause) {
    throw new ConfigError(
      `${what} from TypeScript sources need tsx (a dev dependency); build with tsc -b`,
      { cause },
    );
  }
  const exportsMap = JSON.parse(readFileSync(tsxPackage, 'utf8')).exports['./esm/api'];
  const api = pathToFileURL(join(dirname(tsxPackage), exportsMap.import.default)).href;
  // Without any query string a test runner may have added to the caller's URL.
  const worker = new URL(`./${name}.ts`, pathToFileURL(fileURLToPath(callerUrl))).href;
  return new Worker(
    `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(worker)}); });`,
    { ...options, eval: true },
  );
}
