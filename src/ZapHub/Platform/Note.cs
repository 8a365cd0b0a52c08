using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ZapHub.Platform;

/// <summary>
/// A sentence stored for people to read later (a line of a message's timeline, say), kept as a code and its values so
/// each reader sees it in their own language (<c>note.{code}</c> in the strings table). A value starting with <c>@</c>
/// names a text key and is translated too; one starting with <c>t:</c> is a UTC time, shown as the reader's date; one
/// starting with <c>l:</c> is a wall-clock time in the tenant's zone, shown in the reader's date format.
/// </summary>
public sealed record Note(string Code, IReadOnlyDictionary<string, string> Values)
{
    public static Note Of(string code, params (string Name, object? Value)[] values) =>
        new(code, values.Where(v => v.Value is not null).ToDictionary(v => v.Name, v => v.Value switch
        {
            Marked marked => marked.Value,
            DateTime at => "t:" + at.ToString("O", CultureInfo.InvariantCulture),
            // Someone's text that happens to look like a marker ("@barbearia") is kept as it is.
            _ => Convert.ToString(v.Value, CultureInfo.InvariantCulture) is var text && (text!.StartsWith('@') || text.StartsWith('=') || text.StartsWith("t:") || text.StartsWith("l:"))
                ? "=" + text : text!,
        }));

    /// <summary>A text key as a value, translated when the note is read.</summary>
    public static object Key(string key) => new Marked("@" + key);

    /// <summary>A wall-clock time in the tenant's zone as a value.</summary>
    public static object Local(DateTime local) => new Marked("l:" + local.ToString("yyyy-MM-ddTHH:mm", CultureInfo.InvariantCulture));

    private sealed record Marked(string Value);

    public string Store() => JsonSerializer.Serialize(new Stored(Code, Values));

    public override string ToString() => Store();

    /// <summary>The note a stored text holds; null for text stored before notes existed, which is shown as it is.</summary>
    public static Note? Read(string? stored)
    {
        if (stored is null || !stored.StartsWith("{\"c\":", StringComparison.Ordinal)) return null;
        try { return JsonSerializer.Deserialize<Stored>(stored) is { C: { } code } s ? new Note(code, s.V ?? new Dictionary<string, string>()) : null; }
        catch (JsonException) { return null; }
    }

    private sealed record Stored([property: JsonPropertyName("c")] string C, [property: JsonPropertyName("v")] IReadOnlyDictionary<string, string>? V);
}
