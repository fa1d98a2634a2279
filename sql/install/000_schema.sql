-- inventory_sync is installed into its own schema, named by the control file
-- (schema = inventory_sync, relocatable = false); every object below lives there.
COMMENT ON SCHEMA inventory_sync IS
  'inventory_sync: the master of inventory (GS1 identifiers, stock ledger, promises, change feed)';
