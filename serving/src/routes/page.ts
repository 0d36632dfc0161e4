import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NotFoundError } from '@reefguard/core';
import type { FastifyPluginAsync } from 'fastify';

const PAGE_DIR = fileURLToPath(new URL('../../page/', import.meta.url));
const ORT_DIR = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));

/** The only files served, by name: nothing under these folders is reachable otherwise. */
const PAGE_FILES: Record<string, string> = {
  'risk-map.js': 'text/javascript',
  'risk-map.css': 'text/css',
};
const ORT_FILES: Record<string, string> = {
  'ort.wasm.min.mjs': 'text/javascript',
  'ort-wasm-simd-threaded.mjs': 'text/javascript',
  'ort-wasm-simd-threaded.wasm': 'application/wasm',
};

export const pageRoutes: FastifyPluginAsync = async (app) => {
  const hide = { hide: true };
  app.get('/', { schema: hide }, async (_request, reply) =>
    reply.type('text/html').send(createReadStream(join(PAGE_DIR, 'index.html'))),
  );
  app.get<{ Params: { file: string } }>('/page/:file', { schema: hide }, async (request, reply) => {
    const type = PAGE_FILES[request.params.file];
    if (!type) throw new NotFoundError(`no page file "${request.params.file}"`);
    return reply.type(type).send(createReadStream(join(PAGE_DIR, request.params.file)));
  });
  app.get<{ Params: { file: string } }>(
    '/vendor/ort/:file',
    { schema: hide },
    async (request, reply) => {
      const type = ORT_FILES[request.params.file];
      if (!type) throw new NotFoundError(`no onnxruntime-web file "${request.params.file}"`);
      return reply
        .type(type)
        .header('cache-control', 'public, max-age=86400')
        .send(createReadStream(join(ORT_DIR, request.params.file)));
    },
  );
};
