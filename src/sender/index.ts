export { Sender, type SenderOptions, type SenderMta } from './sender.ts';
export { composeMessage, prepareDelivery, type ComposeSettings, type PreparedDelivery, type ComposedMessage } from './compose.ts';
