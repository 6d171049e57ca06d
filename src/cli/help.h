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
    "      --json               machine-readable output on stdout; always valid JSON:\n" \
    "                           a string that is not UTF-8 (a file name is bytes)\n" \
    "                           is shown with U+FFFD and its exact bytes are in\n" \
    "                           KEY_raw (base64)\n" \
    "      --lock-wait SECONDS  wait this long for a conflicting lock (default 0)\n" \
    "      --no-lock            commands that only read (restore, check) take no lock,\n" \
    "                           for a repository on a read-only medium; they take none\n" \
    "                           anyway, with a warning, where no lock can be written\n" \
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
    "  23 done, but its audit record could not be written\n" \
    "  24 a service did not get healthy (or down) in time: a start or stop stage failed\n" \
    "  25 no watch agent runs on this state folder\n"

#define HELP_PATTERNS \
    "\nPatterns (--exclude, --include; restic's rules):\n" \
    "  Matched against the full path (as ls shows it), one component at a time:\n" \
    "  '*' and '?' never match '/', [abc] [a-z] [!a] are classes, \\ escapes.\n" \
    "  **         any number of folders, none included: foo/**/bar, /srv/**/*.log\n" \
    "  /srv/app   a leading '/' anchors at the root\n" \
    "  cache      no leading '/': matches at any depth, as a whole name\n" \
    "  src/*.log  (/x/src/a.log, not /x/src/sub/b.log nor /x/mysrc/a.log)\n" \
    "  A pattern that matches a folder matches everything in it. A trailing '/',\n" \
    "  '//', '.' and '..' are cleaned away first ('cache/' is 'cache'). A leading\n" \
    "  '!' takes back what earlier patterns of the same option matched\n" \
    "  (--exclude '/home/*' --exclude '!/home/ann'); a folder left out is not\n" \
    "  entered, so nothing below it can be taken back. An empty or malformed\n" \
    "  pattern (unclosed '[', trailing '\\') is a usage error (exit 2).\n"

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
    "Extended attributes (user.*, trusted.*, security.*), POSIX ACLs and file\n" \
    "capabilities are kept; holes in sparse files are found without reading them and\n" \
    "restored as holes. A symlink on the way to a PATH is stored as the folder it leads\n" \
    "to, with that folder's owner and mode. Overlapping PATHs are backed up once.\n" \
    "Unreadable files are warned about and left out, and a file that changes while it\n" \
    "is read is stored as read with a warning (\"file changed as we read it\"); either\n" \
    "way the snapshot is still written, marked partial, and the exit code is 3.\n\n" \
    "Options:\n" \
    "  --tag TAG          add a tag (repeatable)\n" \
    "  --class NAME       retention class from the configuration ([retention \"NAME\"]);\n" \
    "                     its lock (e.g. lock = 7y) protects the snapshot until it expires\n" \
    "  --exclude PATTERN  leave out matching paths (repeatable; see Patterns below)\n" \
    "  --host NAME        record this host name instead of the machine's\n" \
    "  --parent ID        compare against this snapshot instead of the latest of the group\n" \
    "  --force            read every file even if unchanged\n" \
    "  -x, --one-file-system  stay on the file system of each PATH: a mount point\n" \
    "                     below it is stored as an empty folder (PATHs themselves are\n" \
    "                     always backed up, even one that is or lies below a mount point)\n" \
    "  --no-progress      no progress line even on a terminal\n\n" \
    "Sources ([source \"NAME\"] in the configuration):\n" \
    "  --source NAME      back up a PostgreSQL source (type = postgres): a base backup\n" \
    "                     streamed over a replication connection (BASE_BACKUP, fast\n" \
    "                     checkpoint, with the server's manifest) straight into the\n" \
    "                     repository; relation files that did not change dedupe. Works on\n" \
    "                     a primary or a standby (the role needs REPLICATION). The\n" \
    "                     snapshot records system id, version, timeline, start/stop LSN\n" \
    "                     and times, its tablespaces (each stored as pg_tblspc/OID with\n" \
    "                     its location), and the WAL archive it needs: archive-source, else\n" \
    "                     the source's own archive, else the archive of the same system\n" \
    "                     (a standby's source finds its primary's); an archive of another\n" \
    "                     system is refused (exit 20). The backup is usable once every WAL\n" \
    "                     segment from start to stop is archived: lifeline waits\n" \
    "                     (wal-timeout, default 60s), else exits 21 and the snapshot is\n" \
    "                     kept but not used for restores until the WAL arrives. On a\n" \
    "                     standby the last segment is finished by the primary: with\n" \
    "                     primary-conninfo lifeline calls pg_switch_wal() there.\n" \
    "  --logical          a logical dump instead: pg_dump -Fc streamed into the\n" \
    "                     repository (also what type = pg_dump sources do); the role\n" \
    "                     needs pg_read_all_data (not REPLICATION)\n" \
    "  Source keys: conninfo (libpq; no password: use PGPASSFILE or ~/.pgpass),\n" \
    "  class, wal-timeout, pg-dump (the pg_dump program to run), archive-source (the\n" \
    "  source whose WAL archive this server's WAL is in), primary-conninfo (for a\n" \
    "  standby: the primary, whose role needs EXECUTE on pg_switch_wal()),\n" \
    "  bin-dir (PostgreSQL's programs: restore runs pg_waldump from there)\n\n" \
    "  --source NAME      back up a Redis source (type = redis): a point-in-time RDB\n" \
    "                     taken over the replication protocol (AUTH, then PSYNC, in the\n" \
    "                     length-prefixed or the diskless EOF-marked form), streamed into\n" \
    "                     the repository and validated on the way (magic, version, every\n" \
    "                     record, CRC-64). A cut-off or damaged transfer commits nothing\n" \
    "                     (exit 13). The snapshot records Redis and RDB versions, keys\n" \
    "                     per database and the replication offset it corresponds to.\n" \
    "  --aof              instead, the AOF folder (data-dir/appendonlydir) as files\n" \
    "  Source keys: address (host:port or unix:/path), user, password-file,\n" \
    "  data-dir, stop-command, start-command (for restore --replace), class, timeout\n" \
    HELP_PATTERNS HELP_GLOBAL

#define HELP_SNAPSHOTS \
    "Usage: lifeline snapshots [--host H] [--tag T] [--path P]\n\n" \
    "Lists snapshots, oldest first: id, time, host, tags, class, paths (for a source,\n" \
    "its kind and name: postgres:main-db), and markers for partial (!), retention-\n" \
    "locked (L) and held (H) snapshots, and base backups whose WAL was not archived\n" \
    "when they ended (W). --json includes each snapshot's source facts (meta).\n" HELP_GLOBAL

#define HELP_NAMES \
    "\nNames are never printed raw: on a terminal, a name with spaces, quotes or shell\n" \
    "characters is put in '...' and control characters and bytes that are not UTF-8\n" \
    "become $'\\n' / $'\\377' pieces, as ls(1) does (a shell reads it back to the\n" \
    "name). Through a pipe, one entry is one line: \\n \\t \\e ... and \\ooo (octal)\n" \
    "stand for control characters and non-UTF-8 bytes, and a backslash is doubled,\n" \
    "as ls -b does (spaces stay). --json gives the exact bytes.\n"

#define HELP_LS \
    "Usage: lifeline ls [-l] SNAPSHOT [PATH]\n\n" \
    "Lists the files in SNAPSHOT (an id prefix or 'latest'), below PATH if given.\n" \
    "  -l, --long   mode, owner, size and time as well\n" HELP_NAMES HELP_GLOBAL

#define HELP_DIFF \
    "Usage: lifeline diff SNAPSHOT1 SNAPSHOT2\n\n" \
    "Shows what changed: '+' added, '-' removed, 'M' content changed, 'U' metadata only,\n" \
    "'T' type changed; then a summary.\n" HELP_NAMES HELP_GLOBAL

#define HELP_STATS \
    "Usage: lifeline stats [SNAPSHOT]\n\n" \
    "Repository totals (snapshots, packs, blobs, stored size, deduplicated size) and,\n" \
    "for SNAPSHOT, its file count and restore size. Also reports index memory use.\n" HELP_GLOBAL

#define HELP_RESTORE \
    "Usage: lifeline restore SNAPSHOT[:PATH] --target DIR [--include P]... [--exclude P]...\n\n" \
    "Restores contents and metadata exactly as backed up (owners when run as root),\n" \
    "recreating the snapshot's absolute paths below DIR. Every blob is authenticated\n" \
    "before a byte of it is written; a file takes its name only when complete (an\n" \
    "unnamed file linked in, or a short random temporary name renamed over it).\n" \
    "With SNAPSHOT:PATH only that folder's contents (or that file) are restored.\n" \
    "A repository that cannot be written (read-only medium, full disk) is read without\n" \
    "a lock, with a warning; the restore's audit record then goes to the local copy\n" \
    "only (audit-<id>.log.unmirrored in the state folder), saying why.\n" \
    "Extended attributes, ACLs and file capabilities are set after the owner; one the\n" \
    "target refuses (trusted.* or capabilities without root, a file system without\n" \
    "them) is a warning naming the file and attribute, counted at the end. Holes of\n" \
    "sparse files are left unwritten, so they take no space.\n" \
    "SNAPSHOT 'latest' (and the newest snapshot of a --source) is never an older one in\n" \
    "silence: when a snapshot that may be newer cannot be read, or the audit trail says\n" \
    "one was saved and its file is gone, it fails naming it (13; 16 if unreadable).\n\n" \
    "What DIR already holds is never followed: a symlink or file where the snapshot\n" \
    "has a folder is replaced by a real folder (as GNU tar does), a file or symlink\n" \
    "where it has a file is replaced, never written through. A folder with contents\n" \
    "where the snapshot has a file, symlink or special file is left as it is and\n" \
    "reported. Unix sockets are not restored (the program that listens makes its\n" \
    "own); their count is given once.\n\n" \
    "Each entry that cannot be restored is named on its own line with the reason, and\n" \
    "everything else is still restored, folder modes and times included. Then:\n" \
    "  13  some entry's data is damaged or missing in the repository (it is left out,\n" \
    "      never half-written); 13 wins when there are local problems as well\n" \
    "  22  the repository was sound, but some entries could not be created in DIR\n" \
    "      (permissions, a device as non-root, a folder in the way)\n" \
    "With --json the counts (damaged, local_errors, sockets_skipped, xattrs_not_set)\n" \
    "and the failed entries (path, kind, error; the first 10000) are in the output.\n\n" \
    "Options:\n" \
    "  -t, --target DIR    where to restore (created if missing)\n" \
    "  --include PATTERN   restore only matching paths (and what is below them, and\n" \
    "                      the folders above them); a pattern that matched nothing\n" \
    "                      is named in a warning\n" \
    "  --exclude PATTERN   leave out matching paths (see Patterns below)\n" \
    "  --no-progress       no progress line\n" \
    "  --write-mode MODE   how files of 1 MiB or more are written: 'direct' (the\n" \
    "                      default: O_DIRECT, around the page cache, so no memory\n" \
    "                      goes to cache pages the restore never reads; where the\n" \
    "                      file system refuses it, buffered) or 'buffered' (through\n" \
    "                      the page cache, as cp and tar do: faster on a host whose\n" \
    "                      cache is already full of pages used before). -v and\n" \
    "                      --json say how much went each way. Either way, data is\n" \
    "                      on the disk once the kernel has written it out: run\n" \
    "                      sync -f DIR when it must survive a power loss at once\n\n" \
    "PostgreSQL (point-in-time restore):\n" \
    "  lifeline restore --source NAME --target DIR [--time T | --lsn L | --xid X |\n" \
    "                   --name N | --latest] [--target-timeline TL] [--archive-mode M]\n" \
    "                   [--delta] [--snapshot ID]\n" \
    "  lifeline restore --source NAME --target DIR --standby\n" \
    "                   [--primary-conninfo C | --primary-conninfo-file F]\n" \
    "                   [--application-name NAME] [--snapshot ID] [--archive-mode M]\n" \
    "  Chooses the newest base backup that can reach the target, checks by WAL names\n" \
    "  along the timeline followed that every segment replay needs is archived (naming\n" \
    "  any that is missing) before anything is written, restores the data folder with\n" \
    "  owners and modes, comments out the recovery settings the backup carried\n" \
    "  (postgresql.auto.conf, postgresql.conf and files it includes inside DIR, each\n" \
    "  marked '# commented out by lifeline restore'), and writes recovery.signal and\n" \
    "  lifeline's settings to postgresql.auto.conf: restore_command through wal-fetch,\n" \
    "  recovery_target_timeline, the target, recovery_target_action = promote and, by\n" \
    "  default, archive_mode = off. Then start the server on DIR: it replays WAL up to\n" \
    "  the target and promotes.\n" \
    "  --time T     the first commit after T ends replay. PostgreSQL's forms:\n" \
    "               '2026-12-01 13:22:31.036629+00' (what select now() prints),\n" \
    "               T or t or a space between date and time, HH:MM without seconds,\n" \
    "               Z, UTC, +01, +0100, +05:30, a zone name (' Europe/Paris');\n" \
    "               no zone: this host's zone (TZ). Fractions are rounded to\n" \
    "               microseconds; an impossible date is an error. The output shows the\n" \
    "               instant used (UTC).\n" \
    "  --lsn L      a WAL position, e.g. 16/B374D848\n" \
    "  --xid X      a transaction id; --name N a restore point (pg_create_restore_point)\n" \
    "  --latest     all archived WAL (the default)\n" \
    "               --time, --xid and --name are looked up in the archived WAL with\n" \
    "               PostgreSQL's pg_waldump (the source's bin-dir, else\n" \
    "               /usr/lib/postgresql/VERSION/bin, else PATH): the backup chosen is\n" \
    "               the newest that ends before the target's record, and a target that\n" \
    "               is not in the WAL is refused. Without pg_waldump, --xid and --name\n" \
    "               need --snapshot ID.\n" \
    "  --target-timeline TL  which timeline recovery follows:\n" \
    "               (default) the production history: from the backup's timeline,\n" \
    "                 a newer timeline is followed only where the one it branched\n" \
    "                 from has no archived WAL after the branch point (a failover);\n" \
    "                 a branch off a timeline that went on (a restored copy that\n" \
    "                 archived into the source) is named and not followed\n" \
    "               current  the backup's timeline\n" \
    "               latest   PostgreSQL's latest: the newest timeline in the archive\n" \
    "               N        timeline N (it must branch after the backup ends)\n" \
    "  --archive-mode M  off (default): the restored server does not archive (a test\n" \
    "               copy must not push its timeline into the production source);\n" \
    "               preserve: keep the backup's archive_mode and archive_command\n" \
    "  --delta      DIR is an existing data folder of the same system (PG_VERSION and\n" \
    "               pg_control's system identifier are checked; server stopped): files\n" \
    "               whose content already matches are kept, others rewritten, extra\n" \
    "               files removed. Any other non-empty folder is refused.\n" \
    "  --snapshot ID  use this base backup instead of choosing one\n" \
    "  --standby    build a streaming standby from the repository, without loading\n" \
    "               the primary: the newest base backup (or --snapshot ID) restored\n" \
    "               into DIR as above, then standby.signal (not recovery.signal),\n" \
    "               restore_command (wal-fetch: it catches up from the archive first),\n" \
    "               primary_conninfo, recovery_target_timeline = 'latest' (it follows\n" \
    "               its primary onto a new timeline), no recovery_target*, no\n" \
    "               promotion; archive_mode is kept (preserve) so that it archives once\n" \
    "               promoted, unless --archive-mode off. Needs --target DIR; refused\n" \
    "               with --time, --lsn, --xid, --name or --latest. Start the server on\n" \
    "               DIR: pg_stat_wal_receiver shows it streaming.\n" \
    "  --primary-conninfo C  with --standby: the primary, as libpq settings or a\n" \
    "               postgresql:// URI (written as key=value settings). A conninfo\n" \
    "               holding a password is refused (argv is visible to every user): put\n" \
    "               the password in a PGPASSFILE (passfile=... or ~/.pgpass of the\n" \
    "               server's user) or use --primary-conninfo-file\n" \
    "  --primary-conninfo-file F  with --standby: the same from file F (one line; it\n" \
    "               may hold a password, which therefore never appears in argv);\n" \
    "               written to postgresql.auto.conf (mode 0600)\n" \
    "  --application-name NAME  the standby's name at its primary (its\n" \
    "               pg_stat_replication row, synchronous_standby_names; the HA\n" \
    "               member's name is a good choice). Default: the conninfo's\n" \
    "               application_name, else lifeline-standby. Printable ASCII, at most\n" \
    "               63 bytes; a conninfo naming another one is refused\n" \
    "  --tablespace-map OID=DIR  restore tablespace OID into DIR instead of its\n" \
    "               original location (repeatable; like pg_basebackup's\n" \
    "               --tablespace-mapping); pg_tblspc/OID then links to DIR. A\n" \
    "               tablespace's folder must be empty or absent (with --delta: a\n" \
    "               folder, rewritten like the data folder)\n" \
    "  --logical    restore the newest logical dump: --target DIR writes NAME.dump,\n" \
    "               --stdout streams it, e.g. into pg_restore -d DB\n" \
    "  Example: standby pg-b of the running primary, built from the repository:\n" \
    "    lifeline restore --source main-db --standby --target /srv/pg/pg-b \\\n" \
    "      --primary-conninfo 'host=10.0.0.1 user=replicator passfile=/srv/pgpass' \\\n" \
    "      --application-name pg-b\n" \
    "    pg_ctl -D /srv/pg/pg-b start   # as the data folder's owner\n\n" \
    "Redis:\n" \
    "  lifeline restore --source NAME (--target DIR | --replace) [--aof] [--snapshot ID]\n" \
    "  --target DIR  writes dump.rdb (with --aof: the appendonlydir folder) into DIR\n" \
    "  --replace     stops the server (stop-command), puts the snapshot's dump.rdb in\n" \
    "                data-dir (the old file kept aside), starts it (start-command), waits\n" \
    "                for the load and checks the key count of every database against\n" \
    "                the snapshot (keys that expired meanwhile allowed for); on a\n" \
    "                mismatch the previous file is put back and the server restarted.\n" \
    "                Each step is a record in the audit trail. Refused when data-dir\n" \
    "                holds an AOF folder (the server would load that instead).\n" \
    HELP_PATTERNS HELP_GLOBAL

#define HELP_CHECK \
    "Usage: lifeline check [--read-data | --read-data-subset N/M]\n\n" \
    "Verifies structure: key slots, index files, every indexed pack present with a\n" \
    "matching header, every snapshot's trees readable and every blob they need indexed.\n" \
    "  --read-data            also read every pack: each blob decrypted, authenticated\n" \
    "                         and its id recomputed; each pack is let go from the page\n" \
    "                         cache once read, so a large check does not push out what\n" \
    "                         the host is using\n" \
    "  --read-data-subset N/M read only the N-th of M parts of the packs\n" \
    "Damaged objects are named with the snapshots and files they affect; exit code 13.\n" \
    "For PostgreSQL sources: every base backup's WAL range must be archived, any\n" \
    "gap in the archive after the oldest backup is named segment by segment, and a\n" \
    "backup of another system than its archive's is an error.\n" \
    "With --read-data, every archived WAL file is read and authenticated too (each\n" \
    "segment's header must be the segment its name says, of its archive's system: an\n" \
    "archive that mixes systems is named), and every Redis snapshot's RDB is parsed\n" \
    "again (CRC-64).\n" \
    "Partial files (*.tmp) of writes that never finished are counted as a warning;\n" \
    "prune removes them. A repository that cannot be written (read-only medium, full\n" \
    "disk) is checked without a lock, with a warning (--no-lock: without the warning).\n" \
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
    "flags (naming it by ID is an error, exit code 19). A policy never removes the\n" \
    "newest snapshot of a group unless --allow-remove-newest is given.\n\n" \
    "Policy (a snapshot is kept when any rule keeps it):\n" \
    "  --keep-last N            the N newest\n" \
    "  --keep-hourly N  --keep-daily N  --keep-weekly N  --keep-monthly N\n" \
    "  --keep-yearly N          the newest of each of the N latest hours, days...\n" \
    "                           that have a snapshot (UTC; weeks start on Monday)\n" \
    "  --keep-within DURATION   every snapshot up to DURATION (e.g. 7y, 30d, 12h)\n" \
    "                           older than the newest snapshot of its group\n" \
    "  --keep-within-hourly D  --keep-within-daily D  --keep-within-weekly D\n" \
    "  --keep-within-monthly D  --keep-within-yearly D\n" \
    "                           the newest of each hour, day... within D of the\n" \
    "                           newest snapshot of its group\n" \
    "  --keep-tag TAG           every snapshot with this tag (repeatable)\n" \
    "  Durations count from the group's newest snapshot, not from the clock (as\n" \
    "  restic does): when backups stop, a policy keeps what it kept the day they\n" \
    "  stopped. The same keys (keep-within-daily = 30d...) work in [retention] classes.\n" \
    "Options:\n" \
    "  --class NAME   only snapshots of this class (and its policy unless flags given)\n" \
    "  --allow-remove-newest  let the policy remove a group's newest snapshot too\n" \
    "  --dry-run      only say what would be removed, WAL included\n" \
    "  --prune        run prune afterwards\n" \
    "PostgreSQL WAL: after the snapshots are removed, each archive's WAL older than its\n" \
    "oldest kept base backup is removed (every kept backup keeps its whole point-in-time\n" \
    "window up to the next); an archive with no backups left keeps its WAL. Each archive\n" \
    "is reported: files, first .. last segment, bytes stored. --json: an array of the\n" \
    "snapshots (with keep and reason), then per archive an object with kind \"wal\",\n" \
    "wal_source, keep_from, files, bytes, first, last.\n" \
    "While any snapshot cannot be read all WAL is kept (its oldest backup is unknown).\n" \
    "A legal hold whose file was deleted (the audit trail says it is in force) or that\n" \
    "is damaged keeps its snapshot, and forget exits 13 naming it; 'lifeline release'\n" \
    "ends such a hold on purpose. Naming a snapshot whose file was deleted records its\n" \
    "removal, so that 'latest' and check stop asking for it.\n" HELP_GLOBAL

#define HELP_PRUNE \
    "Usage: lifeline prune [--dry-run] [--max-unused PERCENT] [--safety-window DURATION]\n\n" \
    "Removes data no snapshot references: deletes unused packs, repacks packs that\n" \
    "are mostly unused (default: more than 50%), and removes packs left by interrupted\n" \
    "backups and the partial files (*.tmp) of writes that never finished. Takes an\n" \
    "exclusive lock: it waits (--lock-wait) or refuses while a backup runs. Refuses to\n" \
    "run on a repository with damaged snapshots or trees.\n" \
    "Wholly unused packs are deleted first (once an index no longer names them), then\n" \
    "the repack runs, so a nearly full disk makes progress; a repack that would not fit\n" \
    "in the free space is not started, and the bytes it needs are named (exit code 17).\n\n" \
    "Options:\n" \
    "  -n, --dry-run              only say what would be done\n" \
    "  --max-unused PERCENT       repack packs with more than this unused (default 50)\n" \
    "  --safety-window DURATION   leave packs and partial files younger than this alone\n" \
    "                             (default 24h, as Kopia's full safety): a backup on\n" \
    "                             another host that was suspended until its lock looked\n" \
    "                             stale may still need them. 0 trusts the locks alone:\n" \
    "                             right after a failed backup, to reclaim its space now\n" HELP_GLOBAL

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
    "/var/lib/lifeline for root or ~/.local/state/lifeline). When that folder cannot\n" \
    "be written (a user without a home) the command warns once and goes on: the\n" \
    "repository's chain is the authority, the copy only mirrors it.\n" \
    "  show     prints the records\n" \
    "  verify   detects edited, deleted, inserted or reordered records and says which;\n" \
    "           exit code 13 when any is found, 16 when records could only not be read\n" \
    "           (permissions, I/O); also compares the holds and snapshots the trail says\n" \
    "           are in force with the repository's files\n" \
    "A damaged or unreadable newest record does not stop the trail: the next record\n" \
    "chains from the last intact one and names the break; show prints it.\n" HELP_GLOBAL

#define HELP_UNLOCK \
    "Usage: lifeline unlock [--remove-all]\n\n" \
    "Removes stale locks: of processes on this host that are gone (a pid that ended,\n" \
    "was reused, or predates the last boot), or of other hosts when not refreshed for\n" \
    "30 minutes. A lock of a live process on this host is never stale, however old: the\n" \
    "process may be stopped and will go on. --remove-all removes every lock: only when\n" \
    "no lifeline runs; a writer that finds its lock removed commits nothing and fails\n" \
    "(exit code 11).\n" HELP_GLOBAL

#define HELP_WAL_PUSH \
    "Usage: lifeline wal-push [--source NAME] PATH\n\n" \
    "Archives one PostgreSQL WAL file (segment, .partial, .history or .backup) as\n" \
    "wal/<source>/<name>, durable before it exits 0. Pushing the same file again with\n" \
    "identical content succeeds; different content for an archived name is an error.\n" \
    "A segment (or .partial) must be the segment its name says (its first page's long\n" \
    "header) and of the archive's PostgreSQL system: the first segment pushed sets it\n" \
    "(wal/<source>/system-id); another cluster's WAL is refused naming both system\n" \
    "ids (exit 20), a file that is not its segment with exit 2. .history and .backup\n" \
    "files carry no system id and are taken as they are.\n" \
    "In postgresql.conf, with a key-file slot so no password KDF runs per segment:\n" \
    "  archive_command = '/usr/local/bin/lifeline -c CONF --key-file KEY wal-push --source main-db %p'\n" \
    "(the absolute path: archive_command runs with the server's environment, and\n" \
    "Debian's pg_ctlcluster sets PATH=/sbin:/bin:/usr/sbin:/usr/bin, without\n" \
    "/usr/local/bin where make install puts lifeline)\n" \
    "  --source NAME   a [source \"NAME\"] of type postgres (default: \"default\")\n" HELP_GLOBAL

#define HELP_WAL_FETCH \
    "Usage: lifeline wal-fetch [--source NAME] NAME DEST\n\n" \
    "Writes archived WAL file NAME to DEST. Exits non-zero without a message when NAME\n" \
    "is not archived (PostgreSQL asks for files that may not exist).\n" \
    "  restore_command = 'lifeline -c CONF --key-file KEY wal-fetch --source main-db %f %p'\n" HELP_GLOBAL

#define HELP_PROBE \
    "Usage: lifeline -c FILE probe [--json] SERVICE\n\n" \
    "Runs the probe of [service \"SERVICE\"] once, built from the configuration exactly\n" \
    "as the watch agent builds it (timeout, http-* keys, mirror-of, the [source] of a\n" \
    "postgres: or redis: probe and its password file), and prints its state (healthy,\n" \
    "degraded or failed), how long it took and what it saw. Nothing is recorded and\n" \
    "no agent is needed: it answers \"is my probe right?\" before the agent acts on it.\n" \
    "The probe target itself is never printed (a URL may carry a credential).\n\n" \
    "Probe kinds: http(s)://URL, tcp://HOST:PORT, exec:COMMAND (exit 0 healthy,\n" \
    "1 degraded, other failed), postgres:SOURCE, redis:SOURCE, registry:URL (GET /v2/\n" \
    "answers 200 or 401). A registry probe with mirror-of = UPSTREAM-URL and\n" \
    "repositories = NAME... compares the mirror at URL with its upstream: every tag the\n" \
    "upstream lists must be listed by the mirror with the same manifest digest (at most\n" \
    "200 digests compared per run, shared among the repositories). Healthy when all\n" \
    "match; degraded when the mirror lacks a tag (\"mirror lacks app:1.2\"), serves\n" \
    "another digest (\"app:latest differs\"), or the upstream cannot be asked; failed\n" \
    "when the mirror does not answer.\n\n" \
    "Options:\n" \
    "  --json   {\"service\",\"probe\" (its kind),\"state\",\"latency_ms\",\"detail\",\n" \
    "           \"timeout_ms\"} on stdout\n\n" \
    "Examples:\n" \
    "  lifeline -c /etc/lifeline/lifeline.conf probe backend\n" \
    "  lifeline -c lifeline.conf probe --json registry-mirror\n\n" \
    "Exit codes: 0 the probe ran and the service is healthy or degraded (the state is\n" \
    "printed); 20 it ran and the service failed; 15 no such service, or a bad\n" \
    "configuration; 2 usage. See below for the rest.\n" HELP_GLOBAL HELP_EXIT_CODES
#define HELP_NOTIFY \
    "Usage: lifeline notify test [NAME] [--json]\n\n" \
    "Sends a test alert (event \"test\", severity info) through every [notify \"NAME\"]\n" \
    "channel of the configuration, or only through NAME, at once and not through the\n" \
    "watch agent's outbox, and prints for each channel whether its receiver accepted\n" \
    "it or why not: HTTP status and the start of the answer, the SMTP reply, the\n" \
    "command's exit and last line of output, or the network error. The runbook's\n" \
    "\"verify contact lists and escalation paths\", before an incident needs them.\n" \
    "The channel's events, severity and after rules do not apply to a test; its\n" \
    "secrets (url-file, password-file, routing-key-file) are read as the agent\n" \
    "reads them, and never printed.\n\n" \
    "Options:\n" \
    "  NAME     only this channel\n" \
    "  --json   {\"channels\": [{\"name\", \"type\", \"accepted\": true|false,\n" \
    "           \"error\": null|TEXT}], \"accepted\": N, \"failed\": N}\n\n" \
    "Examples:\n" \
    "  lifeline -c /etc/lifeline/lifeline.conf notify test\n" \
    "  lifeline -c /etc/lifeline/lifeline.conf notify test oncall --json\n\n" \
    "Exit codes: 0 every channel tried accepted the test; 20 at least one did not;\n" \
    "15 no channel configured, or a channel's secret file cannot be read; 18 no\n" \
    "channel NAME; 2 bad arguments.\n" HELP_GLOBAL

#define HELP_VERSION "Usage: lifeline version\n\nPrints the version.\n" HELP_GLOBAL

#define HELP_INCIDENTS \
    "Usage: lifeline incidents [--open] [--since DURATION]\n" \
    "       lifeline incidents show ID [--format text|markdown|json]\n" \
    "       lifeline incidents update ID --status STATUS --message TEXT\n" \
    "       lifeline incidents mark ID --false-positive | --not-false-positive\n\n" \
    "The watch agent's incidents, from the state database <state folder>/state.db.\n" \
    "The state folder is [watch] state-dir of the configuration (-c), else\n" \
    "LIFELINE_STATE_DIR, else /var/lib/lifeline for root, else\n" \
    "$XDG_STATE_HOME/lifeline or ~/.local/state/lifeline. No agent needs to run; a\n" \
    "missing database is an error (exit 18) and is not created.\n\n" \
    "  (no subcommand)  the incidents, newest first: id, service, status, when opened,\n" \
    "                   time to recovery (or how long open), false-positive mark, title;\n" \
    "                   then the metrics of the same window (below)\n" \
    "  show ID          one incident with its timeline: opened (the first failed probe),\n" \
    "                   detection (failure confirmed), recovery attempts and their\n" \
    "                   verification, escalations, holds, notifications delivered or\n" \
    "                   dead-lettered, human updates, closed\n" \
    "  update ID        a human status update: it sets the incident's status and joins\n" \
    "                   its timeline, where the status page and a running agent (which\n" \
    "                   sends it to the notification channels) find it. --status\n" \
    "                   resolved closes an open incident (should the service still\n" \
    "                   fail, the agent opens a new one); a closed incident takes only\n" \
    "                   resolved (a late note)\n" \
    "  mark ID          sets or clears the false-positive mark (for the metrics)\n\n" \
    "Options:\n" \
    "  --open                 only incidents still open\n" \
    "  --since DURATION       only incidents open during the last DURATION (30m, 24h,\n" \
    "                         7d); the metrics count incidents opened in it\n" \
    "  --format FORMAT        show: text (default), json (as --json), or markdown: a\n" \
    "                         post-incident review (summary, timeline in UTC, detection\n" \
    "                         gaps, 5 whys, People / Process / Technology, action items)\n" \
    "  --status STATUS        investigating, identified, monitoring or resolved\n" \
    "  --message TEXT         what people should know (up to 4096 bytes)\n" \
    "  --false-positive, --not-false-positive   the mark to set\n" \
    "  --json                 list: {\"incidents\": [...], \"metrics\": {...}}; show, update,\n" \
    "                         mark: the incident (the shape of the status document)\n\n" \
    "Metrics (docs/ARCHITECTURE.md defines them exactly):\n" \
    "  MTTR                   mean of resolved - failure confirmed over closed incidents\n" \
    "  recovery success       automatic recoveries verified and not failing again\n" \
    "                         within an hour / recovery attempts\n" \
    "  false positives        incidents marked so, or closed with no failure confirmed,\n" \
    "                         / all incidents\n\n" \
    "Examples:\n" \
    "  lifeline incidents --open\n" \
    "  lifeline incidents show 12 --format markdown > review-12.md\n" \
    "  lifeline incidents update 12 --status identified --message 'bad deploy; rolling back'\n" \
    "  lifeline incidents mark 12 --false-positive\n\n" \
    "Exit codes: 0 ok, 2 usage (a bad status or option), 18 no such incident or no\n" \
    "state database, 11 the database stayed locked for 5 s, 16 I/O error.\n" HELP_GLOBAL
#define HELP_STAGE_COMMON \
    "Options:\n" \
    "  --timeout DURATION  every stage's timeout (90s, 5m), instead of each service's\n" \
    "                      start-timeout (default 2m) or stop-timeout (default 1m)\n" \
    "  -n, --dry-run       print the plan (stages, commands, gates) and do nothing\n" \
    "  --json              a report on stdout: {ok, command, dry_run, stages:\n" \
    "                      [{stage, services: [{name, action, seconds, detail,\n" \
    "                      depends_on}]}]};\n" \
    "                      action is started, already-running, stopped, already-down,\n" \
    "                      skipped, cancelled, failed or pending (not run)\n" \
    "Stages: a service's stage is one after the latest stage of what it depends on\n" \
    "(depends-on in its [service] section); the services of one stage run at once,\n" \
    "each with its own timeout counted from the start of the stage. Progress goes to\n" \
    "stderr, one line per stage and one per service as it ends:\n" \
    "  stage 1/3: main-db ... healthy after 3.2s\n" \
    "Commands run through /bin/sh -c with LIFELINE_SERVICE=NAME in the environment,\n" \
    "in a process group that is killed when the command returns or its time is up:\n" \
    "a command that leaves a process running must detach it (setsid, or a manager\n" \
    "such as docker or systemctl), with its output sent away from the pipe.\n" \
    "Holds: the state database (<state-dir>/state.db; [watch] state-dir, else\n" \
    "$LIFELINE_STATE_DIR, else /var/lib/lifeline for root or ~/.local/state/lifeline)\n" \
    "tells a running agent what was stopped on purpose; when it cannot be opened the\n" \
    "command warns and goes on.\n"

#define HELP_START \
    "Usage: lifeline start [--timeout DURATION] [--dry-run] [--json] [NAME]\n\n" \
    "Starts NAME and everything it depends on, or every [service] without NAME, in\n" \
    "dependency order: what others depend on first. Each service is gated on its\n" \
    "probe: its start-command runs, then the probe runs every interval until it\n" \
    "passes rise times in a row (a degraded answer passes: the service answers).\n" \
    "No stage begins before the one before it is healthy: the health gate replaces\n" \
    "the runbook's 'sleep 30'. A service whose probe already passes rise times is\n" \
    "already running: its start-command is not run.\n" \
    "The first stage that fails ends the start at once: its start-command exited\n" \
    "non-zero (its first line of output is shown), or the service was not healthy\n" \
    "within the timeout (the last probe's answer is shown); later stages are not\n" \
    "started, and the error names the stage, the service and what failed.\n" \
    "A service held by a person ('lifeline pause') or by the agent (an escalation)\n" \
    "is not started: the error names the hold and 'lifeline resume NAME'. The\n" \
    "maintenance hold 'lifeline stop' left is lifted from each service that is\n" \
    "healthy again.\n\n" \
    HELP_STAGE_COMMON \
    "\nExamples:\n" \
    "  lifeline -c /etc/lifeline/lifeline.conf start            the whole stack\n" \
    "  lifeline start backend --timeout 5m   backend and what it depends on\n" \
    "  lifeline start --dry-run              the order, without doing anything\n" \
    "\nExit codes: 0 every service healthy; 24 a stage failed (the message names it);\n" \
    "  18 no such service; 15 configuration error; 2 usage.\n" HELP_GLOBAL

#define HELP_STOP \
    "Usage: lifeline stop [--timeout DURATION] [--dry-run] [--json] [NAME]\n\n" \
    "Stops NAME and everything that depends on it, or every [service] without NAME,\n" \
    "in reverse dependency order: dependents first. Each service's stop-command runs,\n" \
    "then its probe runs every interval until it fails fall times in a row (the\n" \
    "service is really down) within the timeout; only then does the next stage\n" \
    "begin. A service whose probe already fails fall times is already down: its\n" \
    "stop-command is not run.\n" \
    "The first stage that fails ends the stop at once (stop-command exit non-zero,\n" \
    "or still up at the timeout); later stages are not stopped.\n" \
    "A service without a stop-command: with NAME, an error before anything is done\n" \
    "(its dependencies must not go down under it); without NAME, it is skipped with\n" \
    "a warning and left running.\n" \
    "Before its stop-command, each service gets a 'maintenance' hold in the state\n" \
    "database, so that a running agent does not bring back what was stopped on\n" \
    "purpose ('lifeline start' lifts it); a person's pause or an escalation hold\n" \
    "already on the service is kept as it is.\n\n" \
    HELP_STAGE_COMMON \
    "\nExamples:\n" \
    "  lifeline stop                   the whole stack, dependents first\n" \
    "  lifeline stop main-db           main-db and everything that uses it\n" \
    "  lifeline stop main-db --dry-run --json\n" \
    "\nExit codes: 0 every service down; 24 a stage failed (the message names it);\n" \
    "  18 no such service; 15 configuration error (with NAME: a service without a\n" \
    "  stop-command); 2 usage.\n" HELP_GLOBAL

#endif

/* ---- the watch agent (cmd_watch.c) ---- */
#define HELP_WATCH \
    "Usage: lifeline -c CONFIG watch [--once] [--timestamps]\n\n" \
    "Runs the watch agent in the foreground (systemd: contrib/lifeline-watch.service,\n" \
    "Type=notify with a watchdog). Every [service] is probed every `interval` with a\n" \
    "hard `timeout`; `fall` failures in a row confirm an outage and open an incident,\n" \
    "`rise` passes in a row make the service healthy again (failures during\n" \
    "`start-period` do not count). While the state is in question (a failure not yet\n" \
    "confirmed, a recovery not yet risen or verified) probes come every\n" \
    "`fast-interval` (default: a quarter of interval, as HAProxy's fastinter).\n" \
    "A confirmed failure is recovered: recover-command\n" \
    "(default: stop-command, then start-command), then verification: the probe must\n" \
    "pass `rise` times within verify-timeout; a failed verification counts as an\n" \
    "attempt, and attempts back off exponentially with jitter (backoff, backoff-max).\n" \
    "Past max-recoveries = N/INTERVAL the agent escalates and holds automation for the\n" \
    "service until `lifeline resume NAME`. It also escalates, and holds every\n" \
    "service, when several fail within an hour (escalate-failures, default 3/1h) or\n" \
    "most fail at once (a partition seen from this node), and holds a database\n" \
    "(postgres:, redis: probe) that becomes unreachable.\n" \
    "While held, probes, incidents and notifications go on; no action is taken.\n\n" \
    "Every action is an event in the state database ([watch] state-dir), an entry in\n" \
    "its incident's timeline, a syslog line (RFC 5424), and, when the configuration\n" \
    "names a key-file for the repository, a record in the repository's audit trail.\n" \
    "Notifications leave from a durable outbox ([notify] sections).\n" \
    "One agent per state folder: a second one exits with code 11. SIGHUP re-reads the\n" \
    "configuration; a bad one is refused and the running one kept. SIGTERM stops.\n" \
    "kill -9 loses nothing: a restarted agent resumes its incidents and attempts.\n\n" \
    "Options:\n" \
    "  --once             one probe round of every service, then exit (for checks)\n" \
    "  --timestamps       start each log line with the UTC time to the millisecond (a log\n" \
    "                     kept in a file; journald adds its own)\n\n" \
    "Example configuration:\n" \
    "  [watch]\n" \
    "  node = zone-a-1\n" \
    "  listen = 127.0.0.1:8008\n" \
    "  state-dir = /var/lib/lifeline\n" \
    "  [service \"backend\"]\n" \
    "  probe = http://127.0.0.1:8080/health\n" \
    "  interval = 2s\n" \
    "  fall = 3\n" \
    "  rise = 2\n" \
    "  start-command = docker compose -p production up -d backend\n" \
    "  stop-command = docker compose -p production stop backend\n" \
    "  max-recoveries = 3/1h\n" HELP_GLOBAL

#define HELP_STATUS \
    "Usage: lifeline [-c CONFIG] status [--json]\n\n" \
    "Shows every service as the running agent sees it: its state (healthy, degraded,\n" \
    "failed, starting, held, maintenance), since when, its open incident and the last\n" \
    "probe's detail; holds with who placed them and why; open incidents. Asks the agent\n" \
    "over its control socket in the state folder (only its user and root may); when no\n" \
    "agent runs there, says so and exits with code 25. --json prints the status\n" \
    "document the agent also serves at /api/status.\n" HELP_GLOBAL

#define HELP_PAUSE \
    "Usage: lifeline [-c CONFIG] pause [NAME] --reason TEXT\n\n" \
    "Holds the agent's automation for service NAME, or for every service without a\n" \
    "NAME (the runbook's `touch /flags/manual-intervention-required`). While held, the\n" \
    "agent goes on probing, recording and notifying, and takes no action. The hold is\n" \
    "kept in the state database: it survives restarts, and a hold placed while no agent\n" \
    "runs takes effect when one starts. The agent records it (event, audit trail,\n" \
    "syslog, a `hold` notification). Undo with `lifeline resume [NAME]`.\n\n" \
    "Example:\n" \
    "  lifeline -c /etc/lifeline/lifeline.conf pause backend --reason 'migrating the db'\n" HELP_GLOBAL

#define HELP_RESUME \
    "Usage: lifeline [-c CONFIG] resume [NAME]\n\n" \
    "Releases the hold of service NAME (a person's pause, or the agent's escalation\n" \
    "past max-recoveries and the like), or the hold of every service without a NAME.\n" \
    "The service's recovery attempts start over. NAME may also be an HA group, or\n" \
    "GROUP/MEMBER: a member the agent could not rejoin by itself (no backup-source, a\n" \
    "refused or failed rebuild) is held so; resuming it lets the agent try again.\n" \
    "Resuming what is not held says so and exits 0. The agent records the release\n" \
    "(event, audit trail, syslog, a `resume` notification).\n\n" \
    "Example:\n" \
    "  lifeline -c /etc/lifeline/lifeline.conf resume main-db/pg-a\n" HELP_GLOBAL

/* ---- PostgreSQL high availability (cmd_ha.c) ---- */
#define HELP_SWITCHOVER \
    "Usage: lifeline [-c CONFIG] switchover GROUP [--to MEMBER] [--json]\n\n" \
    "A planned, lossless change of the primary of [postgres \"GROUP\"], done by the running\n" \
    "agent that manages the current primary: the old primary stops taking writes\n" \
    "(read-only, sessions ended), the target standby receives all of its WAL, the old\n" \
    "primary is stopped, the target is promoted with a new epoch, and the old primary\n" \
    "follows it. Without --to: in synchronous mode the synchronous standby, else the\n" \
    "streaming standby with the most WAL. A target on another node is promoted by its\n" \
    "own agent: this one hands the group's key over to it. Ask the agent of the current\n" \
    "primary (another agent says which node that is). If the target does not catch up\n" \
    "within 30 s the switchover is abandoned and the old primary takes writes again.\n" \
    "Prints the time clients could not write.\n\n" \
    "Exit codes: 0 done; 20 refused or failed (the reason is printed); 25 no agent runs;\n" \
    "18 no such group.\n\n" \
    "Example:\n" \
    "  lifeline -c /etc/lifeline/lifeline.conf switchover main-db --to pg-b\n" HELP_GLOBAL

#define HELP_FAILOVER \
    "Usage: lifeline [-c CONFIG] failover GROUP --to MEMBER [--json]\n\n" \
    "Forces MEMBER (a standby managed by this agent) to become the primary of GROUP\n" \
    "now, whatever the primary's state: the old primary, where it still runs, is fenced\n" \
    "(stopped, or made to refuse writes, and fence-command run), the group's key is\n" \
    "taken with a new epoch, MEMBER is promoted. WAL the old primary acknowledged and\n" \
    "MEMBER had not received is LOST: the warning says how many bytes at most. For a\n" \
    "planned change use switchover, which loses nothing.\n\n" \
    "Exit codes: 0 done; 20 refused or failed; 25 no agent runs; 18 no such group;\n" \
    "2 no --to.\n" HELP_GLOBAL
#define HELP_PROXY_CONFIG \
    "Usage: lifeline proxy-config [GROUP] [--listen-primary ADDR:PORT]\n" \
    "                             [--listen-replica ADDR:PORT] [--replica-lag SIZE]\n" \
    "                             [--node NODE] [--json]\n\n" \
    "Prints an HAProxy configuration (HAProxy 2.2 or later; Debian 12 ships 2.6) that\n" \
    "sends clients to the members of the configured [postgres \"GROUP\"] groups: for\n" \
    "each group a `listen GROUP-primary` for writers, whose only server in service is\n" \
    "the primary that holds the group's lease, and a `listen GROUP-replica` for readers,\n" \
    "balanced over the streaming standbys. HAProxy checks every member each second\n" \
    "(option httpchk; inter 1s fastinter 250ms fall 2 rise 1) by asking the agent\n" \
    "that manages it, not the database: GET /GROUP/MEMBER/primary answers 200 only\n" \
    "while the member is the primary and its lease is certain, /GROUP/MEMBER/replica\n" \
    "only while it is a streaming standby. A member the agent says no for is out\n" \
    "within about 1.25 s, and its sessions are shut (on-marked-down\n" \
    "shutdown-sessions), so no client stays on a fenced primary. Between HAProxy's\n" \
    "start and the first checks every server counts as up: fencing, not the proxy,\n" \
    "is what keeps writes off a member that is not the primary.\n\n" \
    "Each member is a `server` at the host and port of its conninfo (hostaddr, else\n" \
    "host; port 5432 by default; a Unix socket cannot be proxied), checked at the\n" \
    "HTTP address of its agent: the member's `agent = HOST:PORT`, else [watch] listen\n" \
    "when the member's node is this node (a wildcard listen such as 0.0.0.0 is reached\n" \
    "at the member's host). Members managed by other nodes need `agent`.\n\n" \
    "Options:\n" \
    "  GROUP                    only this group (default: every group, in the\n" \
    "                           file's order)\n" \
    "  --listen-primary ADDR:PORT  where writers connect (default *:5000; the k-th\n" \
    "                           group *:5000+2k); a bare PORT means *:PORT\n" \
    "  --listen-replica ADDR:PORT  where readers connect (default *:5001, +2k)\n" \
    "  --replica-lag SIZE       readers only on standbys at most SIZE of WAL behind\n" \
    "                           (1MB, 16kB, bytes): the check becomes /replica?lag=SIZE\n" \
    "  --node NODE              the node this configuration is rendered on (default:\n" \
    "                           [watch] node, else the host name)\n" \
    "  --json                   {\"haproxy\": TEXT}\n\n" \
    "The agents' endpoints, for other proxies or scripts (GET, HEAD or OPTIONS; body\n" \
    "{group, member, role, lease, lag_bytes, epoch, timeline}):\n" \
    "  /GROUP/MEMBER/primary    200: primary with the lease; else 503 (read-write too)\n" \
    "  /GROUP/MEMBER/replica    200: streaming standby (?lag=SIZE: within SIZE)\n" \
    "  /GROUP/MEMBER/read-only  200: either of the above\n" \
    "  /GROUP/MEMBER/health     200: the server is up in any role\n" \
    "  /GROUP/primary, /GROUP/replica  the same for the one member this agent manages\n" \
    "  Unknown group or member: 404; a bad lag: 400.\n\n" \
    "Example:\n" \
    "  # lifeline.conf on zone-a-1: [watch] node = zone-a-1, listen = 10.0.0.1:8008;\n" \
    "  # [member \"pg-b\"] node = zone-b-1, agent = 10.0.0.2:8008\n" \
    "  lifeline -c /etc/lifeline/lifeline.conf proxy-config main-db \\\n" \
    "      --listen-primary 127.0.0.1:5000 > /etc/haproxy/haproxy.cfg\n" \
    "  haproxy -c -f /etc/haproxy/haproxy.cfg && systemctl reload haproxy\n" \
    "  psql 'host=127.0.0.1 port=5000 dbname=app'   # always the primary\n\n" \
    "Exit codes: 0 printed; 15 no group in the configuration, a member without a TCP\n" \
    "address or without an agent address, a name HAProxy cannot take; 18 no such\n" \
    "GROUP; 2 bad arguments.\n" HELP_GLOBAL
