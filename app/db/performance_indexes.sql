-- The report's section 1 "Add Missing Indexes", verbatim in name and columns. Applied and
-- reverted by app.db.migrate (optimization db_indexes); not a numbered migration because
-- the harness switches it both ways on the same database.
CREATE INDEX IF NOT EXISTS idx_domains_project_id ON domains (project_id);
CREATE INDEX IF NOT EXISTS idx_pages_domain_id_processed_indexed ON pages (domain_id, processed, indexed);
CREATE INDEX IF NOT EXISTS idx_pages_scraped_at ON pages (scraped_at);
CREATE INDEX IF NOT EXISTS idx_projects_user_id_created_at ON projects (user_id, created_at);
CREATE INDEX IF NOT EXISTS idx_scrape_pages_status_domain_id ON scrape_pages (status, domain_id);
