using System.ComponentModel.DataAnnotations;

namespace ZapHub.Data;

public enum StorageProvider { Sqlite, Postgres }

public sealed class StorageOptions : IValidatableObject
{
    public const string Section = "Storage";

    public StorageProvider Provider { get; set; } = StorageProvider.Sqlite;

    /// <summary>Where the embedded SQLite database (and other local files) live.</summary>
    [Required]
    public string DataDirectory { get; set; } = "./data";

    /// <summary>SQLite's synchronous pragma: NORMAL (default, WAL: durable against app crashes) or FULL (also against power loss, slower).</summary>
    [RegularExpression("^(NORMAL|FULL)$", ErrorMessage = "Storage:SqliteSynchronous must be NORMAL or FULL.")]
    public string SqliteSynchronous { get; set; } = "NORMAL";

    /// <summary>Required for PostgreSQL; optional for SQLite (defaults to a file in <see cref="DataDirectory"/>).</summary>
    public string? ConnectionString { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Provider == StorageProvider.Postgres && string.IsNullOrWhiteSpace(ConnectionString))
            yield return new ValidationResult(
                "Storage:ConnectionString is required when Storage:Provider is Postgres " +
                "(for example \"Host=127.0.0.1;Database=zaphub;Username=zaphub;Password=...\").",
                [nameof(ConnectionString)]);
    }

    public string ResolveConnectionString()
    {
        if (!string.IsNullOrWhiteSpace(ConnectionString)) return ConnectionString;
        var dir = Path.GetFullPath(DataDirectory);
        Directory.CreateDirectory(dir);
        return $"Data Source={Path.Combine(dir, "zaphub.db")}";
    }
}
