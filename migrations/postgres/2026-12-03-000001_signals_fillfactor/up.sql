-- Every tick rewrites the live figures of every open trade (DESIGN.md §4). None of those columns
-- is indexed, so PostgreSQL can write the new row version into the same page (a HOT update,
-- no index entries) — when the page has room. Filled to 100 %, it never has: each refresh then
-- adds an entry to every index of the table, several times the work. Pages filled to 70 % keep
-- that room for the trades opened on them. Rows already stored keep their pages; the setting
-- applies to every page written from now on. SQLite rewrites a row in place and has no such
-- setting (its migration of this version does nothing).
ALTER TABLE signals SET (fillfactor = 70);
