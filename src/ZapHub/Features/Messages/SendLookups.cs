using Microsoft.EntityFrameworkCore;
using ZapHub.Data;
using ZapHub.Features.Sessions;
using ZapHub.Gateways;
using ZapHub.Platform;

namespace ZapHub.Features.Messages;

/// <summary>
/// What accepting a send reads from the tenant's data (its numbers, contacts, templates, uploads, idempotency keys),
/// each read once per request: a batch preloads what its messages name in one query per kind.
/// </summary>
internal sealed class SendLookups(ZapHubDb db)
{
    public sealed record SendingNumber(Guid Id, bool IsPrimary, bool Connected);

    private readonly Dictionary<Guid, bool> sessions = [];
    private readonly Dictionary<string, Contact?> contacts = [];
    private readonly Dictionary<string, Message?> byKey = [];
    private readonly Dictionary<string, Template?> templates = [];
    private readonly Dictionary<Guid, (string FileName, string MimeType)?> mediaFiles = [];
    private readonly Dictionary<string, string> peers = [];
    private List<SendingNumber>? numbers;

    public async Task PreloadAsync(IReadOnlyList<BatchMessage?> items, CancellationToken ct)
    {
        var ids = items.Select(i => i?.SessionId).OfType<Guid>().Distinct().ToList();
        foreach (var id in ids) sessions[id] = false;
        if (ids.Count > 0)
            foreach (var id in await db.Sessions.Where(s => ids.Contains(s.Id)).Select(s => s.Id).ToListAsync(ct)) sessions[id] = true;

        var valid = new HashSet<string>();
        foreach (var to in items.Select(i => i?.To).Distinct())
        {
            try { valid.Add(Peer(to)); }
            catch (ProblemException) { /* reported with its message */ }
        }
        foreach (var peer in valid) contacts[peer] = null;
        if (valid.Count > 0)
            foreach (var c in await db.Contacts.AsNoTracking().Where(c => valid.Contains(c.Peer)).ToListAsync(ct)) contacts[c.Peer] = c;

        var keys = items.Select(i => i?.IdempotencyKey).OfType<string>().Where(k => k.Length is > 0 and <= 100).Distinct().ToList();
        foreach (var key in keys) byKey[key] = null;
        if (keys.Count > 0)
            foreach (var m in await db.Messages.AsNoTracking().Where(m => m.IdempotencyKey != null && keys.Contains(m.IdempotencyKey)).ToListAsync(ct)) byKey[m.IdempotencyKey!] = m;
    }

    /// <summary>The recipient in E.164 (parsed once per distinct input).</summary>
    public string Peer(string? to)
    {
        if (to is not null && peers.TryGetValue(to, out var peer)) return peer;
        peer = PhoneNumberRules.ToE164(to, "to");
        peers[to!] = peer;
        return peer;
    }

    public async Task<bool> SessionExistsAsync(Guid id, CancellationToken ct)
    {
        if (!sessions.TryGetValue(id, out var exists)) sessions[id] = exists = await db.Sessions.AnyAsync(s => s.Id == id, ct);
        return exists;
    }

    /// <summary>The enabled numbers a "primary" or "any" route chooses from.</summary>
    public async Task<List<SendingNumber>> SendingNumbersAsync(CancellationToken ct) =>
        numbers ??= await db.Sessions.AsNoTracking().Where(s => s.Enabled)
            .Select(s => new SendingNumber(s.Id, s.IsPrimary, s.State == SessionState.Connected)).ToListAsync(ct);

    public async Task<Contact?> ContactAsync(string peer, CancellationToken ct)
    {
        if (!contacts.TryGetValue(peer, out var contact)) contacts[peer] = contact = await db.Contacts.AsNoTracking().FirstOrDefaultAsync(c => c.Peer == peer, ct);
        return contact;
    }

    public async Task<Message?> ByIdempotencyKeyAsync(string key, CancellationToken ct)
    {
        if (!byKey.TryGetValue(key, out var message)) byKey[key] = message = await db.Messages.AsNoTracking().FirstOrDefaultAsync(m => m.IdempotencyKey == key, ct);
        return message;
    }

    public async Task<Template?> TemplateAsync(string? name, CancellationToken ct)
    {
        if (name is null) return null;
        if (!templates.TryGetValue(name, out var template)) templates[name] = template = await db.Templates.AsNoTracking().FirstOrDefaultAsync(t => t.Name == name, ct);
        return template;
    }

    public async Task<(string FileName, string MimeType)?> MediaFileAsync(Guid id, CancellationToken ct)
    {
        if (!mediaFiles.TryGetValue(id, out var file))
            mediaFiles[id] = file = (await db.MediaFiles.AsNoTracking().Where(f => f.Id == id).Select(f => new { f.FileName, f.MimeType }).FirstOrDefaultAsync(ct)) is { } f
                ? (f.FileName, f.MimeType) : null;
        return file;
    }
}
