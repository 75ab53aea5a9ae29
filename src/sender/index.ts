export { Sender, type SenderOptions, type MessageSigner, type SpoolPort, type SenderSignals } from './sender.ts';
export { composeMessage, prepareDelivery, type ComposeSettings, type PreparedDelivery, type ComposedMessage } from './compose.ts';
