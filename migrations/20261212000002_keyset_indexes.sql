-- Lists page by key (`web::pager`): the next page starts just past the last
-- row shown, in the list's own order. These indexes hold that order whole,
-- ties included, so a page deep in a list starts with an index lookup.
-- The directory, by name, address and id (it was ordered by name only).
DROP INDEX people_org_name_idx;
CREATE INDEX people_list_order_idx ON people (org_id, name, email, id);
-- The evidence register, newest first.
DROP INDEX evidence_items_org_idx;
CREATE INDEX evidence_items_list_order_idx ON evidence_items (org_id, created_at DESC, id DESC);
