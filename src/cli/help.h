/* help — the --help text of every command, kept together so they read alike. */
#ifndef LL_HELP_H
#define LL_HELP_H

#define HELP_GLOBAL \
    "\nGlobal options (before or after the command):\n" \
    "  -r, --repo PATH          repository folder (env LIFELINE_REPOSITORY)\n" \
    "  -c, --config FILE        configuration file (env LIFELINE_CONFIG;\n" \
    "                           default /etc/lifeline/lifeline.conf when present)\n" \
    "      --password-file FILE read the password from FILE (env LIFELINE_PASSWORD_FILE;\n" \
    "                           env LIFELINE_PASSWORD; else asked on the terminal)\n" \
    "      --key-file FILE      unlock with a key file instead of a password\n" \
    "                           (env LIFELINE_KEY_FILE); no slow KDF, for unattended use\n" \
    "      --json               machine-readable output on stdout\n" \
    "      --lock-wait SECONDS  wait this long for a conflicting lock (default 0)\n" \
    "  -q, --quiet              only warnings and errors\n" \
    "  -v, --verbose            more detail (twice: debug)\n" \
    "  -h, --help               this help\n"

#define HELP_EXIT_CODES \
    "\nExit codes:\n" \
    "  0 ok   1 failure   2 usage   3 backup written but some files unreadable\n" \
    "  10 no repository   11 locked   12 wrong password   13 damaged data\n" \
    "  14 unsupported format version   15 configuration error   16 I/O error\n" \
    "  17 disk full   18 not found   19 refused by retention lock or legal hold\n" \
    "  20 source (PostgreSQL, Redis) unreachable, refusing or failing\n" \
    "  21 backup stored, but its WAL was not archived in time (not usable yet)\n" \
    "  22 restore finished, but some entries could not be created in the target\n" \
    "  23 done, but its audit record could not be written\n"

#define HELP_MAIN_HEAD \
    "lifeline — disaster recovery you can prove: encrypted, deduplicated backups,\n" \
    "verified restores, retention with locks, and a tamper-evident audit trail.\n\n" \
    "Usage: lifeline [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]\n\nCommands:\n"
#define HELP_MAIN_TAIL \
    HELP_GLOBAL HELP_EXIT_CODES \
    "\n'lifeline COMMAND --help' describes one command.\n"

#define HELP_INIT \
    "Usage: lifeline init [--kdf-memory MiB] [--kdf-time N] [--compression-level N]\n\n" \
    "Creates a repository in the folder given by -r, which must be empty or missing:\n" \
    "a folder with any content (a repository that lost its config, other files) is\n" \
    "refused, naming what it holds.\n" \
    "The first key slot is made from the password (or, with --key-file FILE, from\n" \
    "that key file, which is created with 32 random bytes and mode 0600 if missing).\n\n" \
    "Options:\n" \
    "  --kdf-memory MiB   argon2id memory for password slots (default 64)\n" \
    "  --kdf-time N       argon2id passes (default 3)\n" \
    "  --compression-level N  zstd level for this repository, 1 (fastest) to 19\n" \
    "                     (default 3); data that does not shrink is stored raw\n" HELP_GLOBAL

#define HELP_KEY \
    "Usage: lifeline key list\n" \
    "       lifeline key add [--new-password-file FILE | --key-file FILE | --new-key-file FILE]\n" \
    "       lifeline key remove ID\n" \
    "       lifeline key passwd [--new-password-file FILE]\n\n" \
    "Key slots each wrap the repository's master key; data is never re-encrypted.\n" \
    "  list     the slots, their kind, creation time and host; * marks the one in use\n" \
    "  add      a new slot: a password (asked twice, LIFELINE_NEW_PASSWORD, or\n" \
    "           --new-password-file) or a key file (--key-file FILE: created with 32\n" \
    "           random bytes, mode 0600, if missing; unlocks with the password). To unlock\n" \
    "           with one key file and add another: --key-file OLD --new-key-file NEW\n" \
    "  remove   removes slot ID (a prefix); the slot in use and the last slot cannot be\n" \
    "           removed\n" \
    "  passwd   replaces the slot in use with one for a new password\n" \
    "The config lists the slots (authenticated); add, remove and passwd update the list\n" \
    "under the exclusive lock. A deleted, swapped or replaced slot is named (exit 13),\n" \
    "not reported as a wrong password; list shows listed slots whose file is gone.\n" HELP_GLOBAL

#define HELP_BACKUP \
    "Usage: lifeline backup [OPTIONS] PATH...\n" \
    "       lifeline backup --source NAME [--logical] [--tag T] [--class C]\n\n" \
    "Backs up files and folders with their metadata (modes incl. setuid/sticky, owners,\n" \
    "times, symlinks, hard links, special files). Files whose size, mtime, ctime and inode\n" \
    "match the previous snapshot of the same paths and host are not read again.\n" \
    "Unreadable files are warned about and left out; the snapshot is still written,\n" \
    "marked partial, and the exit code is 3.\n\n" \
    "Options:\n" \
    "  --tag TAG          add a tag (repeatable)\n" \
    "  --class NAME       retention class from the configuration ([retention \"NAME\"]);\n" \
    "                     its lock (e.g. lock = 7y) protects the snapshot until it expires\n" \
    "  --exclude PATTERN  leave out matching paths (repeatable; a pattern without '/'\n" \
    "                     matches names, with '/' full paths; shell wildcards)\n" \
    "  --host NAME        record this host name instead of the machine's\n" \
    "  --parent ID        compare against this snapshot instead of the latest of the group\n" \
    "  --force            read every file even if unchanged\n" \
    "  --no-progress      no progress line even on a terminal\n\n" \
    "Sources ([source \"NAME\"] in the configuration):\n" \
    "  --source NAME      back up a PostgreSQL source (type = postgres): a base backup\n" \
    "                     streamed over a replication connection (BASE_BACKUP, fast\n" \
    "                     checkpoint, with the server's manifest) straight into the\n" \
    "                     repository; relation files that did not change dedupe. Works on\n" \
    "                     a primary or a standby. The snapshot records system id, version,\n" \
    "                     timeline, start/stop LSN and times. The backup is usable once\n" \
    "                     every WAL segment from start to stop is archived: lifeline waits\n" \
    "                     (wal-timeout, default 60s), else exits 21 and the snapshot is\n" \
    "                     kept but not used for restores until the WAL arrives.\n" \
    "  --logical          a logical dump instead: pg_dump -Fc streamed into the\n" \
    "                     repository (also what type = pg_dump sources do)\n" \
    "  Source keys: conninfo (libpq; no password: use PGPASSFILE or ~/.pgpass),\n" \
    "  class, wal-timeout, pg-dump (the pg_dump program to run)\n\n" \
    "  --source NAME      back up a Redis source (type = redis): a point-in-time RDB\n" \
    "                     taken over the replication protocol (AUTH, then PSYNC, in the\n" \
    "                     length-prefixed or the diskless EOF-marked form), streamed into\n" \
    "                     the repository and validated on the way (magic, version, every\n" \
    "                     record, CRC-64). A cut-off or damaged transfer commits nothing\n" \
    "                     (exit 13). The snapshot records Redis and RDB versions, keys\n" \
    "                     per database and the replication offset it corresponds to.\n" \
    "  --aof              instead, the AOF folder (data-dir/appendonlydir) as files\n" \
    "  Source keys: address (host:port or unix:/path), user, password-file,\n" \
    "  data-dir, stop-command, start-command (for restore --replace), class, timeout\n" HELP_GLOBAL

#define HELP_SNAPSHOTS \
    "Usage: lifeline snapshots [--host H] [--tag T] [--path P]\n\n" \
    "Lists snapshots, oldest first: id, time, host, tags, class, paths (for a source,\n" \
    "its kind and name: postgres:main-db), and markers for partial (!), retention-\n" \
    "locked (L) and held (H) snapshots, and base backups whose WAL was not archived\n" \
    "when they ended (W). --json includes each snapshot's source facts (meta).\n" HELP_GLOBAL

#define HELP_LS \
    "Usage: lifeline ls [-l] SNAPSHOT [PATH]\n\n" \
    "Lists the files in SNAPSHOT (an id prefix or 'latest'), below PATH if given.\n" \
    "  -l, --long   mode, owner, size and time as well\n" HELP_GLOBAL

#define HELP_DIFF \
    "Usage: lifeline diff SNAPSHOT1 SNAPSHOT2\n\n" \
    "Shows what changed: '+' added, '-' removed, 'M' content changed, 'U' metadata only,\n" \
    "'T' type changed; then a summary.\n" HELP_GLOBAL

#define HELP_STATS \
    "Usage: lifeline stats [SNAPSHOT]\n\n" \
    "Repository totals (snapshots, packs, blobs, stored size, deduplicated size) and,\n" \
    "for SNAPSHOT, its file count and restore size. Also reports index memory use.\n" HELP_GLOBAL

#define HELP_RESTORE \
    "Usage: lifeline restore SNAPSHOT[:PATH] --target DIR [--include P]... [--exclude P]...\n\n" \
    "Restores contents and metadata exactly as backed up (owners when run as root).\n" \
    "Every blob is authenticated before a byte of it is written; each file is written\n" \
    "under a temporary name and renamed when complete. A file touched by damage is\n" \
    "reported and left out, the rest is restored, and the exit code is 13.\n" \
    "With SNAPSHOT:PATH only that folder's contents (or that file) are restored.\n" \
    "SNAPSHOT 'latest' (and the newest snapshot of a --source) is never an older one in\n" \
    "silence: when a snapshot that may be newer cannot be read, or the audit trail says\n" \
    "one was saved and its file is gone, it fails naming it (13; 16 if unreadable).\n\n" \
    "Options:\n" \
    "  -t, --target DIR    where to restore (created if missing)\n" \
    "  --include PATTERN   restore only matching paths (and what is below them)\n" \
    "  --exclude PATTERN   leave out matching paths\n" \
    "  --no-progress       no progress line\n\n" \
    "PostgreSQL (point-in-time restore):\n" \
    "  lifeline restore --source NAME --target DIR [--time T | --lsn L | --xid X |\n" \
    "                   --name N | --latest] [--delta] [--snapshot ID]\n" \
    "  Chooses the newest base backup that can reach the target with the archived WAL,\n" \
    "  checks that every segment replay needs is archived (naming any that is missing)\n" \
    "  before anything is written, restores the data folder with owners and modes,\n" \
    "  and writes recovery.signal and the recovery settings (restore_command through\n" \
    "  wal-fetch, the target, recovery_target_action = promote) to postgresql.auto.conf.\n" \
    "  Then start the server on DIR: it replays WAL up to the target and promotes.\n" \
    "  --time T     a commit time, e.g. 2026-11-26T10:00:00.25+01:00 (no zone: UTC);\n" \
    "               compared with this host's clock for choosing the backup\n" \
    "  --lsn L      a WAL position, e.g. 16/B374D848\n" \
    "  --xid X      a transaction id; --name N a restore point (pg_create_restore_point)\n" \
    "  --latest     all archived WAL (the default)\n" \
    "  --delta      DIR is an existing data folder (server stopped): files whose content\n" \
    "               already matches are kept, others rewritten, extra files removed\n" \
    "  --snapshot ID  use this base backup instead of choosing one\n" \
    "  --logical    restore the newest logical dump: --target DIR writes NAME.dump,\n" \
    "               --stdout streams it, e.g. into pg_restore -d DB\n\n" \
    "Redis:\n" \
    "  lifeline restore --source NAME (--target DIR | --replace) [--aof] [--snapshot ID]\n" \
    "  --target DIR  writes dump.rdb (with --aof: the appendonlydir folder) into DIR\n" \
    "  --replace     stops the server (stop-command), puts the snapshot's dump.rdb in\n" \
    "                data-dir (the old file kept aside), starts it (start-command), waits\n" \
    "                for the load and checks the key count of every database against\n" \
    "                the snapshot (keys that expired meanwhile allowed for); on a\n" \
    "                mismatch the previous file is put back and the server restarted.\n" \
    "                Each step is a record in the audit trail. Refused when data-dir\n" \
    "                holds an AOF folder (the server would load that instead).\n" HELP_GLOBAL

#define HELP_CHECK \
    "Usage: lifeline check [--read-data | --read-data-subset N/M]\n\n" \
    "Verifies structure: key slots, index files, every indexed pack present with a\n" \
    "matching header, every snapshot's trees readable and every blob they need indexed.\n" \
    "  --read-data            also read every pack: each blob decrypted, authenticated\n" \
    "                         and its id recomputed\n" \
    "  --read-data-subset N/M read only the N-th of M parts of the packs\n" \
    "Damaged objects are named with the snapshots and files they affect; exit code 13.\n" \
    "For PostgreSQL sources: every base backup's WAL range must be archived, and any\n" \
    "gap in the archive after the oldest backup is named segment by segment.\n" \
    "With --read-data, every archived WAL file is read and authenticated too, and\n" \
    "every Redis snapshot's RDB is parsed again (CRC-64).\n" \
    "Also verified: the config's list of key slots against keys/, the audit trail (as\n" \
    "audit verify does), and what it says is in force: every legal hold and every\n" \
    "snapshot not forgotten must have its file, every hold file must authenticate.\n" \
    "Exit code 13 for damage; 16 when files could only not be read (permissions, I/O).\n" HELP_GLOBAL

#define HELP_FORGET \
    "Usage: lifeline forget [POLICY] [--class NAME] [--dry-run] [--prune] [ID...]\n\n" \
    "Removes snapshots. With IDs, those snapshots; otherwise, per group (host and paths),\n" \
    "those the policy does not keep, explaining why each is kept or removed. Without\n" \
    "policy flags, each snapshot's retention class from the configuration is applied.\n" \
    "A snapshot under a retention lock or a legal hold is never removed, whatever the\n" \
    "flags (naming it by ID is an error, exit code 19).\n\n" \
    "Policy:\n" \
    "  --keep-last N  --keep-hourly N  --keep-daily N  --keep-weekly N\n" \
    "  --keep-monthly N  --keep-yearly N  --keep-within DURATION (e.g. 7y, 30d, 12h)\n" \
    "  --keep-tag TAG (repeatable)\n" \
    "Options:\n" \
    "  --class NAME   only snapshots of this class (and its policy unless flags given)\n" \
    "  --dry-run      only say what would be removed\n" \
    "  --prune        run prune afterwards\n" \
    "PostgreSQL WAL: after the snapshots are removed, each source's archived WAL older\n" \
    "than its oldest kept base backup is removed (every kept backup keeps its whole\n" \
    "point-in-time window up to the next); a source with no backups left keeps its WAL,\n" \
    "and while any snapshot cannot be read all WAL is kept (its oldest backup is unknown).\n" \
    "A legal hold whose file was deleted (the audit trail says it is in force) or that\n" \
    "is damaged keeps its snapshot, and forget exits 13 naming it; 'lifeline release'\n" \
    "ends such a hold on purpose. Naming a snapshot whose file was deleted records its\n" \
    "removal, so that 'latest' and check stop asking for it.\n" HELP_GLOBAL

#define HELP_PRUNE \
    "Usage: lifeline prune [--dry-run] [--max-unused PERCENT]\n\n" \
    "Removes data no snapshot references: deletes unused packs, repacks packs that\n" \
    "are mostly unused (default: more than 50%), and removes packs left by interrupted\n" \
    "backups. Takes an exclusive lock: it waits (--lock-wait) or refuses while a backup\n" \
    "runs. Refuses to run on a repository with damaged snapshots or trees.\n" HELP_GLOBAL

#define HELP_HOLD \
    "Usage: lifeline hold SNAPSHOT --reason TEXT\n\n" \
    "Puts a legal hold on SNAPSHOT: it cannot be forgotten until released. Takes a shared\n" \
    "lock, so it waits for (or, without --lock-wait, refuses during) a forget or prune.\n" \
    "The hold is recorded in the audit trail; check notices a hold file deleted later.\n" HELP_GLOBAL

#define HELP_RELEASE \
    "Usage: lifeline release SNAPSHOT\n\n" \
    "Releases a legal hold (under the same lock as hold). A hold whose file is damaged\n" \
    "or was deleted is ended too, on purpose, and the audit trail records it.\n" HELP_GLOBAL

#define HELP_AUDIT \
    "Usage: lifeline audit show [--last N]\n" \
    "       lifeline audit verify\n\n" \
    "The audit trail records every command that changes the repository or restores\n" \
    "from it: time, user, host, command, arguments (never secrets), outcome, ids.\n" \
    "Records are hash-chained with a key derived from the master key, stored in the\n" \
    "repository and mirrored in a local copy ($LIFELINE_STATE_DIR, default\n" \
    "/var/lib/lifeline for root or ~/.local/state/lifeline).\n" \
    "  show     prints the records\n" \
    "  verify   detects edited, deleted, inserted or reordered records and says which;\n" \
    "           exit code 13 when any is found, 16 when records could only not be read\n" \
    "           (permissions, I/O); also compares the holds and snapshots the trail says\n" \
    "           are in force with the repository's files\n" \
    "A damaged or unreadable newest record does not stop the trail: the next record\n" \
    "chains from the last intact one and names the break; show prints it.\n" HELP_GLOBAL

#define HELP_UNLOCK \
    "Usage: lifeline unlock [--remove-all]\n\n" \
    "Removes stale locks (of dead processes on this host, or not refreshed for 30\n" \
    "minutes). --remove-all removes every lock: only when no lifeline runs.\n" HELP_GLOBAL

#define HELP_WAL_PUSH \
    "Usage: lifeline wal-push [--source NAME] PATH\n\n" \
    "Archives one PostgreSQL WAL file (segment, .partial, .history or .backup) as\n" \
    "wal/<source>/<name>, durable before it exits 0. Pushing the same file again with\n" \
    "identical content succeeds; different content for an archived name is an error.\n" \
    "In postgresql.conf, with a key-file slot so no password KDF runs per segment:\n" \
    "  archive_command = 'lifeline -c CONF --key-file KEY wal-push --source main-db %p'\n" \
    "  --source NAME   a [source \"NAME\"] of type postgres (default: \"default\")\n" HELP_GLOBAL

#define HELP_WAL_FETCH \
    "Usage: lifeline wal-fetch [--source NAME] NAME DEST\n\n" \
    "Writes archived WAL file NAME to DEST. Exits non-zero without a message when NAME\n" \
    "is not archived (PostgreSQL asks for files that may not exist).\n" \
    "  restore_command = 'lifeline -c CONF --key-file KEY wal-fetch --source main-db %f %p'\n" HELP_GLOBAL

#define HELP_VERSION "Usage: lifeline version\n\nPrints the version.\n" HELP_GLOBAL

#endif
