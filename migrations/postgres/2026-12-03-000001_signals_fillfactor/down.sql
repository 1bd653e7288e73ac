ALTER TABLE signals RESET (fillfactor);
