/** Estafeta's version, in a module of its own so that the CLI reads it without loading the platform. */
export const VERSION = '0.1.0';
