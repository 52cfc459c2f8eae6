import { searchPages } from '../api';
import { normaliseFacets, type Hit, type SearchBackend, type SearchResult } from './types';

type ApiHit = Record<string, unknown>;

// The API names facets after columns and its filter parameters after what they filter.
const FILTER_PARAMS: Record<string, string> = { domain_id: 'domain' };

function toHit(page: ApiHit): Hit {
  return {
    id: (page.page_id ?? page.id) as number,
    title: String(page.title || page.extracted_title || page.original_url || ''),
    url: String(page.wayback_url || page.original_url || ''),
    snippet: (page.snippet ?? page.headline ?? page.meta_description ?? undefined) as string | undefined,
    language: page.language as string | null,
    capture_date: page.capture_date as string | null,
  };
}

/** GET /api/v1/search/pages: the service's own search, on PostgreSQL full-text here. */
export const apiSearch: SearchBackend = {
  name: 'api',
  async search(query) {
    const body = await searchPages<Record<string, unknown>>({
      q: query.q,
      project: query.project ?? undefined,
      page: query.page,
      per_page: query.perPage,
      ...Object.fromEntries(
        Object.entries(query.filters).map(([facet, value]) => [FILTER_PARAMS[facet] ?? facet, value]),
      ),
    });
    const items = (body.items ?? body.results ?? body.hits ?? []) as ApiHit[];
    const result: SearchResult = {
      hits: items.map(toHit),
      total: Number(body.total ?? items.length),
      facets: normaliseFacets(body.facets),
    };
    return result;
  },
};
