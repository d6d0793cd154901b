// Stands in for @fastify/helmet: registers, sets no header.
export default async function noHelmet() {}
