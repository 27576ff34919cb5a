-- enlist SQLite schema, version 23: the counters nothing reads are no
-- longer kept (issue 15).
--
-- Since version 14 the store writes each changed counter once at commit,
-- and an accept changed five: the member total of its status, its role's
-- and its license type's, its invitation's license type as pending and
-- as accepted. Nothing reads a counter of closed (accepted, declined,
-- revoked, expired) invitations: seats count the staged and pending ones.
-- And a status's total is the sum of its roles' counters, of which an
-- organization has a few. Both go: an accept writes three counters.
DELETE FROM counts
WHERE what = 'member'
   OR (what = 'invitation_license' AND status <> 'staged' AND status <> 'pending');
