// The API's WebSocket channels: messages are {type, data, timestamp}. A dropped connection
// is retried with a growing delay so that a restarting API does not see a reconnect storm.
import { socketUrl } from './api';

export interface LiveMessage {
  type: string;
  data: Record<string, unknown>;
  timestamp?: string;
}

const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 15000;
// Close codes after which retrying cannot help: policy violation (bad token), normal close.
const FINAL_CLOSE_CODES = new Set([1000, 1008]);

export interface LiveHandlers {
  onMessage(message: LiveMessage): void;
  onStatus?(status: 'connecting' | 'open' | 'closed'): void;
}

/** Connects to an API channel (e.g. `/ws/scrape/7`); returns a function that disconnects. */
export function subscribe(path: string, handlers: LiveHandlers): () => void {
  let socket: WebSocket | null = null;
  let stopped = false;
  let delay = RETRY_FIRST_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const connect = (): void => {
    handlers.onStatus?.('connecting');
    socket = new WebSocket(socketUrl(path));
    socket.onopen = () => {
      delay = RETRY_FIRST_MS;
      handlers.onStatus?.('open');
    };
    socket.onmessage = (event) => {
      try {
        const message = JSON.parse(String(event.data)) as LiveMessage;
        if (message.type === 'ping') socket?.send(JSON.stringify({ type: 'pong' }));
        else handlers.onMessage(message);
      } catch {
        // not JSON: not one of ours
      }
    };
    socket.onclose = (event) => {
      handlers.onStatus?.('closed');
      if (stopped || FINAL_CLOSE_CODES.has(event.code)) return;
      timer = setTimeout(connect, delay);
      delay = Math.min(delay * 2, RETRY_MAX_MS);
    };
  };

  connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    socket?.close(1000);
  };
}
