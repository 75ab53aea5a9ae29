export { startListener, type InboundSignals, type Listener, type ListenerOptions } from './listener.ts';
export { InboundProcessor, type ProcessorOptions } from './processor.ts';
export { readInboundAddress, ROLE_MAILBOXES, type InboundTarget } from './accepted-addresses.ts';
