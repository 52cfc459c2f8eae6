// Which backend answers searches: Meilisearch when the server's /config.json names one with
// a search-only key, else the API's own search endpoint.
import { apiSearch } from './api';
import { meiliSearch } from './meili';
import type { SearchBackend } from './types';

export type * from './types';

interface ClientConfig {
  meilisearch?: { host: string; search_key: string } | null;
}

let chosen: Promise<SearchBackend> | null = null;

export function searchBackend(): Promise<SearchBackend> {
  chosen ??= fetch('/config.json')
    .then((response): Promise<ClientConfig> | ClientConfig => (response.ok ? response.json() : {}))
    .catch((): ClientConfig => ({}))
    .then((config) =>
      config.meilisearch ? meiliSearch(config.meilisearch.host, config.meilisearch.search_key) : apiSearch,
    );
  return chosen;
}
