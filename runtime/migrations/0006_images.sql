-- Product photos uploaded by businesses and served by the runtime.
CREATE TABLE images (
    id TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses (id),
    content_type TEXT NOT NULL,
    bytes BYTEA NOT NULL,
    size_bytes BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX images_by_business ON images (business_id, created_at);
