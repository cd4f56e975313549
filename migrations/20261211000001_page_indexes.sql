-- Indexes for pages that show a few rows of large sets (issue 22).

-- Person fields suggest top management: found without reading the directory.
CREATE INDEX people_top_management_idx ON people (org_id, name) WHERE top_management;

-- A training module's page lists its audience a page at a time, leaders
-- first, then by name: walked in that order, it stops after one page.
CREATE INDEX people_module_order_idx ON people (org_id, top_management DESC, line_manager DESC, name, id);

-- A requirement's page shows the evidence linked to it most recently.
CREATE INDEX evidence_links_target_recent_idx ON evidence_links (org_id, target_kind, target_id, linked_at DESC);

-- The registers' owner filters read who owns something.
CREATE INDEX evidence_items_owner_idx ON evidence_items (org_id, owner_id) WHERE owner_id IS NOT NULL;
