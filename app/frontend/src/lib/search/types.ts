// One shape for search results, whichever backend answered: the API's PostgreSQL full-text
// search or Meilisearch through its instant-search client.
export interface Hit {
  id: string | number;
  title: string;
  url: string;
  snippet?: string;
  language?: string | null;
  capture_date?: string | null;
}

export interface FacetValue {
  value: string;
  count: number;
}

export interface Facet {
  name: string;
  values: FacetValue[];
}

export interface SearchQuery {
  q: string;
  project: number | null;
  /** At most one chosen value per facet: the API filters on single values. */
  filters: Record<string, string>;
  page: number;
  perPage: number;
}

export interface SearchResult {
  hits: Hit[];
  total: number;
  facets: Facet[];
}

export interface SearchBackend {
  name: string;
  search(query: SearchQuery): Promise<SearchResult>;
}

/** Facets arrive as {name: {value: count}}, {name: [{value, count}]} or [{name, values}]. */
export function normaliseFacets(raw: unknown): Facet[] {
  if (!raw || typeof raw !== 'object') return [];
  const entries: Array<[string, unknown]> = Array.isArray(raw)
    ? raw.map((f: Record<string, unknown>) => [
        String(f.name ?? f.field ?? ''),
        f.values ?? f.buckets ?? f.counts,
      ])
    : Object.entries(raw);
  return entries
    .map(([name, values]) => ({ name, values: normaliseValues(values) }))
    .filter((facet) => facet.name && facet.values.length > 0);
}

function normaliseValues(values: unknown): FacetValue[] {
  if (Array.isArray(values)) {
    return values.map((v: Record<string, unknown>) => ({
      value: String(v.value ?? v.key ?? v.name ?? ''),
      count: Number(v.count ?? v.doc_count ?? 0),
    }));
  }
  if (values && typeof values === 'object') {
    return Object.entries(values).map(([value, count]) => ({ value, count: Number(count) }));
  }
  return [];
}
