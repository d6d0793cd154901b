// Module resolution hook: '@fastify/helmet' resolves to ./stub.mjs.
const stub = new URL('./stub.mjs', import.meta.url).href;

export async function resolve(specifier, context, next) {
  if (specifier === '@fastify/helmet') return { url: stub, shortCircuit: true };
  return next(specifier, context);
}
