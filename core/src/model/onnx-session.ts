import { ModelError } from '../errors.js';

export type OnnxBackend = 'node' | 'web';

export interface OnnxFeed {
  name: string;
  data: Float32Array;
  dims: number[];
}

/** The little of onnxruntime a model needs, the same for the native and the WASM runtime. */
export interface OnnxSession {
  /** Runs the graph and returns the float32 output `output`, flattened. */
  run(feeds: OnnxFeed[], output: string): Promise<Float32Array>;
  close(): Promise<void>;
}

/**
 * Opens a session on onnxruntime-node (native, CPU) or onnxruntime-web (WASM, for gateways
 * where the native binaries do not exist). Each runtime is imported only when chosen, so an
 * agent on WASM never loads the native addon.
 */
export async function openOnnxSession(
  bytes: Uint8Array,
  backend: OnnxBackend,
): Promise<OnnxSession> {
  const ort =
    backend === 'node'
      ? ((await import('onnxruntime-node')) as unknown as OrtModule)
      : await loadWeb();
  // Models here are a few small matrices: extra threads cost more than they save on 2 cores.
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionProviders: backend === 'web' ? ['wasm'] : ['cpu'],
  });
  return {
    async run(feeds, output) {
      const inputs: Record<string, unknown> = {};
      for (const feed of feeds) inputs[feed.name] = new ort.Tensor('float32', feed.data, feed.dims);
      const result = await session.run(inputs);
      const data = result[output]?.data;
      if (!(data instanceof Float32Array)) {
        throw new ModelError(`the ONNX graph has no float32 output named ${output}`);
      }
      return data;
    },
    close: () => session.release(),
  };
}

async function loadWeb(): Promise<OrtModule> {
  const ort = (await import('onnxruntime-web')) as unknown as OrtModule & {
    env: { wasm: { numThreads: number } };
  };
  // Worker threads would outlive close() and keep the process alive.
  ort.env.wasm.numThreads = 1;
  return ort;
}

/** The shared surface of onnxruntime-node and onnxruntime-web that this module uses. */
interface OrtModule {
  InferenceSession: {
    create(bytes: Uint8Array, options: Record<string, unknown>): Promise<OrtSession>;
  };
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => unknown;
}

interface OrtSession {
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown } | undefined>>;
  release(): Promise<void>;
}
