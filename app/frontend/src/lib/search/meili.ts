// Meilisearch through its instant-search client, where the deployment runs Meilisearch and
// hands the browser a search-only key: one index per project, `project_{id}` (as the
// original service names them).
import { instantMeiliSearch } from '@meilisearch/instant-meilisearch';
import { normaliseFacets, type Hit, type SearchBackend } from './types';

const FACETS = ['domain_id', 'language', 'mime_type'];

interface InstantResult {
  hits: Array<Record<string, unknown>>;
  nbHits: number;
  facets?: Record<string, Record<string, number>>;
}

interface InstantClient {
  search(requests: unknown[]): Promise<{ results: InstantResult[] }>;
}

export function meiliSearch(host: string, searchKey: string): SearchBackend {
  const client = instantMeiliSearch(host, searchKey, { finitePagination: true })
    .searchClient as unknown as InstantClient;
  return {
    name: 'meilisearch',
    async search(query) {
      if (query.project === null) return { hits: [], total: 0, facets: [] };
      const facetFilters = Object.entries(query.filters).map(([name, value]) => [`${name}:${value}`]);
      const { results } = await client.search([
        {
          indexName: `project_${query.project}`,
          params: {
            query: query.q,
            facets: FACETS,
            facetFilters,
            hitsPerPage: query.perPage,
            page: query.page - 1,
          },
        },
      ]);
      const [result] = results;
      const hits: Hit[] = result.hits.map((doc) => ({
        id: String(doc.page_id ?? doc.id),
        title: String(doc.title || doc.original_url || ''),
        url: String(doc.wayback_url || doc.original_url || ''),
        snippet: typeof doc.meta_description === 'string' ? doc.meta_description : undefined,
        language: doc.language as string | null,
        capture_date: doc.capture_date as string | null,
      }));
      return { hits, total: result.nbHits, facets: normaliseFacets(result.facets) };
    },
  };
}
