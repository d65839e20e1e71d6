-- Grain state stays in its row up to a page's size. Every payload is AES-256-GCM ciphertext, which does not compress,
-- yet by default PostgreSQL tries to compress a row over about 2 KB and then moves the payload out of line into TOAST
-- chunks: each write of such a state inserted new chunks and deleted the old ones, with their index entries. Rows up
-- to 8,160 bytes now stay inline (toast_tuple_target), and a larger payload goes out of line without a compression
-- attempt (STORAGE EXTERNAL). Both change only how rows are written from now on; nothing is rewritten, and the table
-- is locked only for the catalogue change (run `migrate` before the silos roll, as for every script).
ALTER TABLE OrleansStorage SET (toast_tuple_target = 8160);
ALTER TABLE OrleansStorage ALTER COLUMN PayloadBinary SET STORAGE EXTERNAL;
