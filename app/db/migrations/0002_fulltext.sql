-- The PostgreSQL full-text search backend: a generated tsvector and its GIN index. Part of
-- the search backend in every variant, not one of the report's performance indexes.
-- The 'simple' configuration does not stem: captures come in several languages, and
-- English stemming rules would mangle a German page. Text is cut at 50,000 characters,
-- as the original cut it for Meilisearch.

ALTER TABLE pages ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', coalesce(title, '')), 'A')
    || setweight(to_tsvector('simple', coalesce(meta_description, '')), 'B')
    || setweight(to_tsvector('simple', left(coalesce(extracted_text, ''), 50000)), 'C')
) STORED;

CREATE INDEX pages_search_vector_gin ON pages USING gin (search_vector);
