"""The schema of one PostgreSQL database as comparable data (a `Catalog`), and the differences between two.

Why our own queries: the Python libraries made for this (migra and schemainspect) are deprecated by their author
and unmaintained, and the alive tools (pg-schema-diff, Atlas) are Go programs that emit migration plans, not a model
we can compare, and leave out privileges and comments. PostgreSQL describes itself completely in `pg_catalog`, and
its own functions print each object's definition (`pg_get_constraintdef`, `pg_get_indexdef`, `pg_get_viewdef`,
`pg_get_functiondef`, `pg_get_triggerdef`, `format_type`, `aclexplode`), so the catalog is a few queries over them.

An object is a `(kind, name)` with its properties (a flat map). Names are PostgreSQL's own identity of the object
(`pg_identify_object`): `public.orders` for a table, `public.orders.total` for a column, `orders_pkey on
public.orders` for a constraint, `public.total(integer, numeric)` for a function; so they never depend on OIDs,
are unique per kind, and are what a person would write. The queries run with an empty `search_path`, so every name
inside a definition is schema-qualified the same way in every database.

Left out, deliberately:
- the system schemas (`pg_catalog`, `information_schema`, `pg_toast`, temporary schemas), objects that belong to an
  extension (the extension itself is an object, with its version), and the tables the caller names (Flyway's
  history table: its rows differ by nature), with their columns, indexes, constraints, privileges and comments;
- owners, and each object's privileges for its own owner: they name the role that ran the migrations, which differs
  between a throwaway server and a real environment without the schema being any different;
- what is derived from something already compared: the index behind a primary key, unique or exclusion constraint
  (the constraint's definition says it all), the sequence behind an identity column (its options are the column's
  `identity sequence`), the columns, constraints, indexes and triggers a partition or child table inherits, array
  types and the row types of tables;
- what lives outside one database (roles, tablespaces, the database's own grants) and rarer kinds (casts, operators,
  collations, text search, publications, rules other than views', event triggers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union, get_args

Value = Union[str, bool, int, list[str], None]
Properties = dict[str, Value]

# The kinds of object, in the order they are listed: what others depend on first.
Kind = Literal[
    "extension", "schema", "type", "sequence", "table", "column", "constraint", "index", "view",
    "materialized_view", "function", "procedure", "aggregate", "trigger", "policy", "privilege",
    "default_privilege", "comment",
]
KINDS: tuple[str, ...] = get_args(Kind)

Change = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class SchemaChange:
    """One difference between two schemas: the object (`kind`, `name`), whether it was added, removed or changed,
    and its properties before and after (None when it did not exist)."""

    kind: Kind
    name: str
    change: Change
    before: Properties | None
    after: Properties | None

    @property
    def changed_keys(self) -> list[str]:
        """The properties that differ (every property of an added or removed object)."""
        before, after = self.before or {}, self.after or {}
        return [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k)]


@dataclass
class Catalog:
    """Every compared object of one database, by (kind, name)."""

    objects: dict[tuple[str, str], Properties] = field(default_factory=dict)
    server_version: str = ""

    def names(self, kind: str) -> list[str]:
        return sorted(name for k, name in self.objects if k == kind)

    def get(self, kind: str, name: str) -> Properties | None:
        return self.objects.get((kind, name))


def compare(before: Catalog, after: Catalog) -> list[SchemaChange]:
    """The changes that turn `before` into `after`, ordered by kind (`KINDS`), then name. A renamed object is one
    removed and one added: PostgreSQL keeps no trace of a rename that another database could be compared with."""
    changes = []
    for key in before.objects.keys() | after.objects.keys():
        old, new = before.objects.get(key), after.objects.get(key)
        if old == new:
            continue
        change: Change = "added" if old is None else "removed" if new is None else "changed"
        changes.append(SchemaChange(key[0], key[1], change, old, new))
    order = {kind: i for i, kind in enumerate(KINDS)}
    changes.sort(key=lambda c: (order.get(c.kind, len(order)), c.name, c.change))
    return changes


# -- reading ----------------------------------------------------------------------------------------------------------

# Schemas that are PostgreSQL's own (`n` is pg_namespace).
_USER_SCHEMA = "n.nspname <> ALL (ARRAY['pg_catalog', 'information_schema', 'pg_toast']) " \
               "AND n.nspname !~ '^pg_(toast_)?temp_'"


def _not_extension_member(catalog: str, oid: str) -> str:
    return (f"NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.classid = '{catalog}'::regclass "
            f"AND dep.objid = {oid} AND dep.deptype = 'e')")


# A range type's constructors come with it (an internal dependency), and are compared as the type.
_NOT_INTERNAL_FUNCTION = ("NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.classid = 'pg_proc'::regclass "
                          "AND dep.objid = p.oid AND dep.deptype = 'i')")

_RELATION_KIND = "CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' " \
                 "WHEN 'f' THEN 'foreign table' END"

def _views(relkind: str) -> str:
    """Views (`v`) or materialized views (`m`): the definition as PostgreSQL prints it, and the options."""
    return f"""
        SELECT (pg_identify_object('pg_class'::regclass, c.oid, 0)).identity,
          json_build_object('definition', pg_get_viewdef(c.oid, true),
                             'options', coalesce(to_json(c.reloptions), '[]'))
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = '{relkind}' AND {_USER_SCHEMA} AND {_not_extension_member('pg_class', 'c.oid')}"""


_QUERIES: dict[str, str] = {
    "extension": """
        SELECT e.extname, json_build_object('version', e.extversion, 'schema', n.nspname)
        FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace""",
    "schema": f"""
        SELECT (pg_identify_object('pg_namespace'::regclass, n.oid, 0)).identity, '{{}}'::json
        FROM pg_namespace n WHERE {_USER_SCHEMA} AND {_not_extension_member('pg_namespace', 'n.oid')}""",
    "type": f"""
        SELECT (pg_identify_object('pg_type'::regclass, t.oid, 0)).identity,
          CASE t.typtype
            WHEN 'e' THEN json_build_object('type', 'enum', 'labels',
              (SELECT coalesce(json_agg(l.enumlabel ORDER BY l.enumsortorder), '[]') FROM pg_enum l
               WHERE l.enumtypid = t.oid))
            WHEN 'c' THEN json_build_object('type', 'composite', 'attributes',
              (SELECT coalesce(json_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
                 || CASE WHEN a.attcollation <> at.typcollation
                    THEN ' COLLATE ' || (pg_identify_object('pg_collation'::regclass, a.attcollation, 0)).identity
                    ELSE '' END ORDER BY a.attnum), '[]')
               FROM pg_attribute a JOIN pg_type at ON at.oid = a.atttypid
               WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped))
            WHEN 'd' THEN json_build_object('type', 'domain', 'base', format_type(t.typbasetype, t.typtypmod),
              'not null', t.typnotnull, 'default', t.typdefault,
              'constraints', (SELECT coalesce(json_agg(quote_ident(k.conname) || ' ' || pg_get_constraintdef(k.oid)
                                ORDER BY k.conname), '[]')
                              FROM pg_constraint k WHERE k.contypid = t.oid))
            WHEN 'r' THEN (SELECT json_build_object('type', 'range', 'subtype', format_type(r.rngsubtype, NULL),
                             'subtype operator class',
                               (pg_identify_object('pg_opclass'::regclass, r.rngsubopc, 0)).identity,
                             'canonical', nullif(r.rngcanonical::oid, 0)::regprocedure::text,
                             'subtype difference', nullif(r.rngsubdiff::oid, 0)::regprocedure::text)
                           FROM pg_range r WHERE r.rngtypid = t.oid)
            ELSE json_build_object('type', CASE t.typtype WHEN 'b' THEN 'base' WHEN 'p' THEN 'pseudo'
                                                    ELSE t.typtype::text END)
          END
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE {_USER_SCHEMA} AND {_not_extension_member('pg_type', 't.oid')}
          AND t.typtype <> 'm'  -- a range's multirange comes with it
          AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
          AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.typarray = t.oid)""",
    "sequence": f"""
        SELECT (pg_identify_object('pg_class'::regclass, c.oid, 0)).identity,
          json_build_object('type', format_type(s.seqtypid, NULL), 'start', s.seqstart, 'increment', s.seqincrement,
            'minimum', s.seqmin, 'maximum', s.seqmax, 'cache', s.seqcache, 'cycle', s.seqcycle,
            'owned by', (SELECT (pg_identify_object('pg_class'::regclass, d.refobjid, d.refobjsubid)).identity
                         FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                           AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'a' LIMIT 1))
        FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_USER_SCHEMA} AND {_not_extension_member('pg_class', 'c.oid')}
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                            AND d.deptype = 'i')""",
    "table": f"""
        SELECT (pg_identify_object('pg_class'::regclass, c.oid, 0)).identity,
          json_build_object('kind', {_RELATION_KIND},
            'persistence', CASE c.relpersistence WHEN 'u' THEN 'unlogged' ELSE 'permanent' END,
            'partition key', CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
            'partition of', (SELECT (pg_identify_object('pg_class'::regclass, i.inhparent, 0)).identity
                             FROM pg_inherits i WHERE i.inhrelid = c.oid AND c.relispartition),
            'partition bound', CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END,
            'inherits', (SELECT coalesce(json_agg((pg_identify_object('pg_class'::regclass, i.inhparent, 0)).identity
                                                   ORDER BY i.inhseqno), '[]')
                         FROM pg_inherits i WHERE i.inhrelid = c.oid AND NOT c.relispartition),
            'row security', c.relrowsecurity, 'force row security', c.relforcerowsecurity,
            'options', coalesce(to_json(c.reloptions), '[]'))
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'f') AND {_USER_SCHEMA} AND {_not_extension_member('pg_class', 'c.oid')}
          AND c.oid <> ALL (%(excluded)s::oid[])""",
    "column": f"""
        SELECT (pg_identify_object('pg_class'::regclass, c.oid, a.attnum)).identity,
          json_build_object('type', format_type(a.atttypid, a.atttypmod), 'nullable', NOT a.attnotnull,
            'default', CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
            'identity', CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END,
            'identity sequence', (SELECT 'start ' || s.seqstart || ' increment ' || s.seqincrement || ' minimum '
                                         || s.seqmin || ' maximum ' || s.seqmax || ' cache ' || s.seqcache
                                         || CASE WHEN s.seqcycle THEN ' cycle' ELSE '' END
                                  FROM pg_depend d JOIN pg_sequence s ON s.seqrelid = d.objid
                                  WHERE a.attidentity <> '' AND d.classid = 'pg_class'::regclass
                                    AND d.refobjid = c.oid AND d.refobjsubid = a.attnum AND d.deptype = 'i'),
            'generated', CASE WHEN a.attgenerated = 's' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
            'collation', CASE WHEN a.attcollation <> t.typcollation
                         THEN (pg_identify_object('pg_collation'::regclass, a.attcollation, 0)).identity END)
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_type t ON t.oid = a.atttypid
          LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
        WHERE c.relkind IN ('r', 'p', 'f') AND a.attnum > 0 AND NOT a.attisdropped
          AND (a.attislocal OR a.attinhcount = 0)
          AND {_USER_SCHEMA} AND {_not_extension_member('pg_class', 'c.oid')} AND c.oid <> ALL (%(excluded)s::oid[])""",
    "constraint": f"""
        SELECT (pg_identify_object('pg_constraint'::regclass, k.oid, 0)).identity,
          json_build_object('type', CASE k.contype WHEN 'p' THEN 'primary key' WHEN 'f' THEN 'foreign key'
                                       WHEN 'u' THEN 'unique' WHEN 'c' THEN 'check' WHEN 'x' THEN 'exclusion'
                                       ELSE k.contype::text END,
                             'definition', pg_get_constraintdef(k.oid))
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE k.contype IN ('p', 'f', 'u', 'c', 'x') AND (k.conislocal OR k.coninhcount = 0) AND k.conparentid = 0
          AND {_USER_SCHEMA} AND {_not_extension_member('pg_class', 'c.oid')} AND c.oid <> ALL (%(excluded)s::oid[])""",
    "index": f"""
        SELECT (pg_identify_object('pg_class'::regclass, c.oid, 0)).identity,
          json_build_object('definition', pg_get_indexdef(c.oid), 'valid', x.indisvalid)
        FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT c.relispartition AND {_USER_SCHEMA} AND {_not_extension_member('pg_class', 'x.indrelid')}
          AND x.indrelid <> ALL (%(excluded)s::oid[])
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid AND k.contype IN ('p', 'u', 'x')
                            AND k.conrelid = x.indrelid)""",
    "view": _views("v"),
    "materialized_view": _views("m"),
    # function, procedure and aggregate: one query, told apart by prokind (see _FUNCTION_KIND)
    "function": f"""
        SELECT (pg_identify_object('pg_proc'::regclass, p.oid, 0)).identity,
          json_build_object('prokind', p.prokind::text,
            'definition', CASE WHEN p.prokind IN ('f', 'p', 'w') THEN pg_get_functiondef(p.oid) END,
            'result', pg_get_function_result(p.oid))
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE {_USER_SCHEMA} AND {_not_extension_member('pg_proc', 'p.oid')} AND {_NOT_INTERNAL_FUNCTION}""",
    "trigger": f"""
        SELECT (pg_identify_object('pg_trigger'::regclass, g.oid, 0)).identity,
          json_build_object('definition', pg_get_triggerdef(g.oid),
            'enabled', CASE g.tgenabled WHEN 'O' THEN 'origin' WHEN 'D' THEN 'disabled' WHEN 'R' THEN 'replica'
                                        WHEN 'A' THEN 'always' END)
        FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT g.tgisinternal AND g.tgparentid = 0 AND {_USER_SCHEMA}
          AND {_not_extension_member('pg_class', 'c.oid')} AND c.oid <> ALL (%(excluded)s::oid[])""",
    "policy": f"""
        SELECT (pg_identify_object('pg_policy'::regclass, p.oid, 0)).identity,
          json_build_object('command', CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT'
                                          WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
            'permissive', p.polpermissive,
            'roles', (SELECT coalesce(json_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE r::regrole::text END ORDER BY 1),
                                      '[]') FROM unnest(p.polroles) r),
            'using', pg_get_expr(p.polqual, p.polrelid), 'with check', pg_get_expr(p.polwithcheck, p.polrelid))
        FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {_USER_SCHEMA} AND c.oid <> ALL (%(excluded)s::oid[])""",
    # privileges: (object's class, oid, sub-id, owner, acl); an ACL that is NULL means the built-in default, which is
    # spelled out (acldefault) so that revoking a default grant (EXECUTE from PUBLIC) shows as a removed grant
    "privilege": f"""
        WITH acls (classid, objid, objsubid, owner, acl) AS (
          SELECT 'pg_namespace'::regclass, n.oid, 0, n.nspowner, coalesce(n.nspacl, acldefault('n', n.nspowner))
          FROM pg_namespace n WHERE {_USER_SCHEMA} AND {_not_extension_member('pg_namespace', 'n.oid')}
          UNION ALL
          SELECT 'pg_class'::regclass, c.oid, 0, c.relowner,
                 coalesce(c.relacl, acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner))
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S') AND NOT c.relispartition AND {_USER_SCHEMA}
            AND {_not_extension_member('pg_class', 'c.oid')} AND c.oid <> ALL (%(excluded)s::oid[])
          UNION ALL
          SELECT 'pg_class'::regclass, c.oid, a.attnum, c.relowner, a.attacl
          FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped AND {_USER_SCHEMA}
            AND {_not_extension_member('pg_class', 'c.oid')} AND c.oid <> ALL (%(excluded)s::oid[])
          UNION ALL
          SELECT 'pg_proc'::regclass, p.oid, 0, p.proowner, coalesce(p.proacl, acldefault('f', p.proowner))
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
          WHERE {_USER_SCHEMA} AND {_not_extension_member('pg_proc', 'p.oid')} AND {_NOT_INTERNAL_FUNCTION}
          UNION ALL
          SELECT 'pg_type'::regclass, t.oid, 0, t.typowner, coalesce(t.typacl, acldefault('T', t.typowner))
          FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
          WHERE {_USER_SCHEMA} AND {_not_extension_member('pg_type', 't.oid')} AND t.typtype <> 'm'
            AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
            AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.typarray = t.oid)
        )
        SELECT o.type || ' ' || o.identity || ' to '
                 || CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END,
               json_build_object('privileges', json_agg(x.privilege_type
                 || CASE WHEN x.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END ORDER BY x.privilege_type))
        FROM acls CROSS JOIN LATERAL aclexplode(acls.acl) x
          CROSS JOIN LATERAL pg_identify_object(acls.classid, acls.objid, acls.objsubid) o
          LEFT JOIN pg_roles r ON r.oid = x.grantee
        WHERE x.grantee <> acls.owner
        GROUP BY o.type, o.identity, x.grantee, r.rolname""",
    # default privileges: what each grantee gets on the role's future objects (in a schema, or everywhere) beyond
    # PostgreSQL's built-in default, and, for a global entry (which replaces that default: EXECUTE and USAGE for
    # PUBLIC on functions and types), what it takes away from it, as `revoked from the built-in default`
    "default_privilege": """
        WITH stored AS (
          SELECT d.oid, x.grantee, x.privilege_type || CASE WHEN x.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END
                   AS privilege
          FROM pg_default_acl d CROSS JOIN LATERAL aclexplode(d.defaclacl) x
          WHERE x.grantee <> d.defaclrole
        ), builtin AS (
          SELECT d.oid, x.grantee, x.privilege_type AS privilege
          FROM pg_default_acl d CROSS JOIN LATERAL aclexplode(acldefault(
            CASE d.defaclobjtype WHEN 'S' THEN 's' ELSE d.defaclobjtype END::"char", d.defaclrole)) x
          WHERE d.defaclnamespace = 0 AND x.grantee <> d.defaclrole
        ), granted AS (
          SELECT * FROM stored EXCEPT SELECT * FROM builtin
        ), revoked AS (
          SELECT b.* FROM builtin b WHERE NOT EXISTS (SELECT 1 FROM stored s WHERE s.oid = b.oid
            AND s.grantee = b.grantee AND split_part(s.privilege, ' ', 1) = b.privilege)
        ), grantees AS (SELECT oid, grantee FROM granted UNION SELECT oid, grantee FROM revoked)
        SELECT (pg_identify_object('pg_default_acl'::regclass, g.oid, 0)).identity || ' to '
                 || CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END,
               json_build_object(
                 'privileges', (SELECT coalesce(json_agg(x.privilege ORDER BY x.privilege), '[]') FROM granted x
                                WHERE x.oid = g.oid AND x.grantee = g.grantee),
                 'revoked from the built-in default',
                   (SELECT coalesce(json_agg(x.privilege ORDER BY x.privilege), '[]') FROM revoked x
                    WHERE x.oid = g.oid AND x.grantee = g.grantee))
        FROM grantees g LEFT JOIN pg_roles r ON r.oid = g.grantee""",
    # comments on the objects above: user objects have OIDs from 16384 (FirstNormalObjectId); `public` is older
    "comment": f"""
        SELECT o.type || ' ' || o.identity, json_build_object('text', d.description)
        FROM pg_description d, LATERAL pg_identify_object(d.classoid, d.objoid, d.objsubid) o
        WHERE (d.objoid >= 16384 OR (d.classoid = 'pg_namespace'::regclass AND d.objoid = 2200))
          AND NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.classid = d.classoid AND dep.objid = d.objoid
                            AND dep.deptype = 'e')
          AND NOT (d.classoid = 'pg_class'::regclass AND d.objoid = ANY (%(excluded)s::oid[]))
          AND (o.schema IS NULL OR o.schema <> ALL (ARRAY['pg_catalog', 'information_schema', 'pg_toast']))""",
}

_FUNCTION_KIND = {"f": "function", "p": "procedure", "a": "aggregate", "w": "function"}


def read_catalog(conn, exclude_tables: set[tuple[str, str]] | frozenset[tuple[str, str]] = frozenset()) -> Catalog:
    """The catalog of the database `conn` (a psycopg 3 connection) is connected to. `exclude_tables` are
    (schema, table) pairs left out with everything that hangs on them (Flyway's history table). Only reads: on an
    autocommit connection, in one read-only REPEATABLE READ transaction, so a live database is read at one moment."""
    if not conn.autocommit:
        return _read(conn, exclude_tables)
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return _read(conn, exclude_tables)


def _read(conn, exclude_tables) -> Catalog:
    catalog = Catalog(server_version=conn.execute("SHOW server_version").fetchone()[0].split()[0])
    pairs = sorted(exclude_tables)
    excluded = [row[0] for row in conn.execute(
        """SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN unnest(%s::text[], %s::text[]) AS x(schema, name) ON x.schema = n.nspname AND x.name = c.relname
           UNION SELECT i.indexrelid FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN unnest(%s::text[], %s::text[]) AS x(schema, name) ON x.schema = n.nspname AND x.name = c.relname""",
        [[p[0] for p in pairs], [p[1] for p in pairs]] * 2).fetchall()]
    path = conn.execute("SELECT current_setting('search_path')").fetchone()[0]
    # An empty search_path makes PostgreSQL qualify every name it prints, the same way in every database.
    conn.execute("SELECT set_config('search_path', '', false)")
    try:
        for kind, query in _QUERIES.items():
            for name, props in conn.execute(query, {"excluded": excluded}).fetchall():
                if kind == "function":
                    kind_of = _FUNCTION_KIND.get(props.pop("prokind"), "function")
                    if kind_of == "aggregate":
                        props.pop("definition")
                    catalog.objects[(kind_of, name)] = props
                else:
                    catalog.objects[(kind, name)] = props
    finally:
        conn.execute("SELECT set_config('search_path', %s, false)", [path])
    return catalog
