using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;

namespace ZapHub.Data;

/// <summary>
/// An entity's table and column names as its provider's migrations created them, quoted for raw SQL — the one way
/// ZapHub names things in the statements LINQ cannot say (row locks with SKIP LOCKED, group updates from a list of
/// values, the inbox's prepared insert). Written as <c>$"UPDATE {m} SET {m["Status"]} = …"</c>.
/// </summary>
public sealed class SqlNames
{
    private static readonly ConcurrentDictionary<(Type Context, Type Entity), SqlNames> Known = new();
    private readonly Dictionary<string, string> columns;

    private SqlNames(string table, Dictionary<string, string> columns) => (Table, this.columns) = (table, columns);

    /// <summary>The quoted table name.</summary>
    public string Table { get; }

    /// <summary>The quoted column of a property, e.g. <c>m[nameof(Message.Status)]</c>.</summary>
    public string this[string property] => columns.TryGetValue(property, out var column) ? column
        : throw new ArgumentException($"{property} is not a mapped property of the table {Table}.", nameof(property));

    public override string ToString() => Table;

    public static SqlNames Of<T>(DbContext db) => Known.GetOrAdd((db.GetType(), typeof(T)), _ =>
    {
        var sql = db.GetService<ISqlGenerationHelper>();
        var entity = db.Model.FindEntityType(typeof(T)) ?? throw new ArgumentException($"{typeof(T).Name} is not an entity of {db.GetType().Name}.");
        var table = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
        var columns = entity.GetProperties().Where(p => p.GetColumnName(table) is not null)
            .ToDictionary(p => p.Name, p => sql.DelimitIdentifier(p.GetColumnName(table)!));
        return new SqlNames(sql.DelimitIdentifier(table.Name, table.Schema), columns);
    });
}
