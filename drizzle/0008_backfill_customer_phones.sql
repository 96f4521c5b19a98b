-- Hand-written (not generated): phones stored before lookups existed are brought to E.164 where that
-- needs no knowledge of a country's numbering plan, so that GET /api/v2/bookings?customerPhone= finds
-- them: international spellings ('+49 151 1234-5678', '0049 (151) 12345678') lose their separators and
-- a leading 00 becomes +. A number with a national trunk '(0)' or without a country code is left as it
-- was: `pnpm cli customers:normalize-phones` reads those in PHONE_DEFAULT_REGION (and the next booking of that
-- customer stores it normalised anyway).
UPDATE "customers"
SET "phone" = '+' || regexp_replace(regexp_replace("phone", '^\s*(\+|00)', ''), '[\s().-]', '', 'g')
WHERE "phone" ~ '^\s*(\+|00)[1-9][0-9\s().-]{5,}$'
  AND "phone" !~ '\(0\)'
  AND length(regexp_replace("phone", '[^0-9]', '', 'g')) - CASE WHEN "phone" ~ '^\s*00' THEN 2 ELSE 0 END
    BETWEEN 7 AND 15;
