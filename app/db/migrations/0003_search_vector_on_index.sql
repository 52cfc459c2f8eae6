-- The tsvector is written when a page is indexed, not when it is stored: indexing into
-- PostgreSQL full-text search is then real work (the vector computed, written and
-- committed), per page when the pipeline indexes one document per call, once per batch
-- when it batches. Rows inserted already indexed (the seeded data set) get theirs from
-- the trigger, so their COPY does the same work as the generated column it replaces.

ALTER TABLE pages DROP COLUMN search_vector;
ALTER TABLE pages ADD COLUMN search_vector tsvector;

CREATE FUNCTION pages_search_vector(title text, meta_description text, body text)
RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('simple', coalesce(title, '')), 'A')
        || setweight(to_tsvector('simple', coalesce(meta_description, '')), 'B')
        || setweight(to_tsvector('simple', left(coalesce(body, ''), 50000)), 'C')
$$;

UPDATE pages SET search_vector = pages_search_vector(title, meta_description, extracted_text)
WHERE indexed;

CREATE INDEX pages_search_vector_gin ON pages USING gin (search_vector);

CREATE FUNCTION pages_search_vector_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.indexed AND NEW.search_vector IS NULL THEN
        NEW.search_vector := pages_search_vector(NEW.title, NEW.meta_description,
                                                 NEW.extracted_text);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER pages_search_vector_on_insert BEFORE INSERT ON pages
FOR EACH ROW EXECUTE FUNCTION pages_search_vector_on_insert();
