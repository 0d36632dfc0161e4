import { defineConfig } from 'vitest/config';

const packages = ['core', 'edge-agent', 'stream-processor', 'serving', 'report'];

// One vitest run for the workspace. The "source" export condition makes packages import
// each other's TypeScript sources, so tests never need a prior build.
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    globalSetup: ['./test/src/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      ...packages.map((name) => ({
        extends: true as const,
        test: { name, include: [`${name}/test/**/*.test.ts`] },
      })),
      { extends: true as const, test: { name: 'integration', include: ['test/src/**/*.test.ts'] } },
    ],
  },
});
