DROP TABLE events;
DROP TABLE instances;
DROP TABLE leases;
