// The page's one log helper. Every line starts with "[parley]", which separates it
// from the browser's own WebRTC messages in the console.

const PREFIX = "[parley]";

/**
 * Console logging with the "[parley]" prefix.
 * Never pass SDP or ICE candidates: they carry ICE credentials and addresses.
 */
export const log = {
  debug: (...args) => console.debug(PREFIX, ...args),
  info: (...args) => console.info(PREFIX, ...args),
  warn: (...args) => console.warn(PREFIX, ...args),
  error: (...args) => console.error(PREFIX, ...args),
};
