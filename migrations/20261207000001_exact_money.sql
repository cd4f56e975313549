-- Money in resource decisions is exact: a fixed-point amount with two
-- decimals (read as rust_decimal::Decimal, never as a float), in the currency
-- named by a three-letter ISO 4217 code. The column already held
-- numeric(14, 2); this states it again (existing values are kept as they are)
-- and adds what the form always enforced: a currency, when given, is three
-- upper-case letters.
ALTER TABLE resource_decisions ALTER COLUMN amount TYPE numeric(14, 2);

UPDATE resource_decisions SET currency = NULLIF(upper(btrim(currency)), '')
 WHERE currency IS DISTINCT FROM NULLIF(upper(btrim(currency)), '');

ALTER TABLE resource_decisions
    ADD CONSTRAINT resource_decisions_currency_code CHECK (currency ~ '^[A-Z]{3}$');
