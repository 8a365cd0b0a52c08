using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using ZapHub.Data;
using ZapHub.Features.Tenancy;
using ZapHub.Platform;

namespace ZapHub.Features.Messages;

public sealed record TemplateView(Guid Id, string Name, string Body, MessageClass Class, IReadOnlyList<string> Variables, DateTime CreatedAt, DateTime UpdatedAt);

public sealed record SaveTemplateRequest(string Name, string Body, MessageClass? Class = null);

/// <summary>Named texts with {{variables}}, checked when saved and again when filled in.</summary>
public static partial class TemplateText
{
    [GeneratedRegex(@"\{\{\s*([^{}]*?)\s*\}\}")]
    private static partial Regex Placeholder();

    [GeneratedRegex("^[a-zA-Z_][a-zA-Z0-9_]{0,39}$")]
    private static partial Regex VariableName();

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,59}$")]
    private static partial Regex TemplateName();

    public static IReadOnlyList<string> Variables(string body) =>
        Placeholder().Matches(body).Select(m => m.Groups[1].Value).Distinct(StringComparer.Ordinal).ToList();

    public static void Validate(string name, string body)
    {
        if (!TemplateName().IsMatch(name))
            throw ProblemException.Invalid("name", "template_name", "Use 1 to 60 lowercase letters, digits, '-' or '_' for the name, e.g. \"confirmacao-consulta\".");
        if (string.IsNullOrWhiteSpace(body) || body.Length > 4096)
            throw ProblemException.Invalid("body", "template_body", "The text must have 1 to 4096 characters.");
        foreach (var variable in Variables(body))
            if (!VariableName().IsMatch(variable))
                throw ProblemException.Invalid("body", "template_variable", $"\"{{{{{variable}}}}}\" is not a valid variable; use letters, digits and '_', e.g. {{{{nome}}}}.");
        var rest = Placeholder().Replace(body, "");
        if (rest.Contains("{{", StringComparison.Ordinal) || rest.Contains("}}", StringComparison.Ordinal))
            throw ProblemException.Invalid("body", "template_braces", "A {{ has no matching }} (or the other way round).");
    }

    /// <summary>Fills the variables in; a missing one is a 400 that names it.</summary>
    public static string Render(string body, IReadOnlyDictionary<string, string>? values)
    {
        var missing = Variables(body).Where(v => values?.TryGetValue(v, out var x) != true || string.IsNullOrWhiteSpace(x)).ToList();
        if (missing.Count > 0)
            throw ProblemException.Invalid("variables." + missing[0], "template_variable_missing",
                $"The template needs a value for {string.Join(", ", missing.Select(m => "{{" + m + "}}"))}.");
        var text = Placeholder().Replace(body, m => values![m.Groups[1].Value].Trim());
        return text.Length <= 4096 ? text : throw ProblemException.Invalid("variables", "text_long", "With its variables filled in, the text passes 4096 characters.");
    }
}

public sealed class TemplateService(ZapHubDb db, TenantContext tenant, AuditLog audit, TimeProvider time)
{
    public async Task<IReadOnlyList<TemplateView>> ListAsync(CancellationToken ct) =>
        (await db.Templates.AsNoTracking().OrderBy(t => t.Name).ToListAsync(ct)).Select(View).ToList();

    public async Task<TemplateView> GetAsync(Guid id, CancellationToken ct) => View(await FindAsync(id, ct, tracking: false));

    public async Task<TemplateView> CreateAsync(Actor actor, SaveTemplateRequest request, CancellationToken ct)
    {
        var name = request.Name?.Trim().ToLowerInvariant() ?? "";
        TemplateText.Validate(name, request.Body ?? "");
        if (await db.Templates.AnyAsync(t => t.Name == name, ct))
            throw ProblemException.Conflict("template_exists", $"A template named \"{name}\" exists already.");
        var now = time.UtcNow();
        var template = new Template { TenantId = tenant.RequireTenant(), Name = name, Body = request.Body!, Class = request.Class ?? MessageClass.Transactional, CreatedAt = now, UpdatedAt = now };
        db.Templates.Add(template);
        audit.Add(db, actor, template.TenantId, "template.created", "template", template.Id.ToString(), name);
        await db.SaveChangesAsync(ct);
        return View(template);
    }

    public async Task<TemplateView> UpdateAsync(Actor actor, Guid id, SaveTemplateRequest request, CancellationToken ct)
    {
        var template = await FindAsync(id, ct);
        var name = request.Name?.Trim().ToLowerInvariant() ?? "";
        TemplateText.Validate(name, request.Body ?? "");
        if (name != template.Name && await db.Templates.AnyAsync(t => t.Name == name, ct))
            throw ProblemException.Conflict("template_exists", $"A template named \"{name}\" exists already.");
        (template.Name, template.Body, template.Class, template.UpdatedAt) = (name, request.Body!, request.Class ?? template.Class, time.UtcNow());
        audit.Add(db, actor, template.TenantId, "template.updated", "template", template.Id.ToString(), name);
        await db.SaveChangesAsync(ct);
        return View(template);
    }

    public async Task DeleteAsync(Actor actor, Guid id, CancellationToken ct)
    {
        var template = await FindAsync(id, ct);
        db.Templates.Remove(template);
        audit.Add(db, actor, template.TenantId, "template.deleted", "template", template.Id.ToString(), template.Name);
        await db.SaveChangesAsync(ct);
    }

    private async Task<Template> FindAsync(Guid id, CancellationToken ct, bool tracking = true) =>
        await (tracking ? db.Templates : db.Templates.AsNoTracking()).FirstOrDefaultAsync(t => t.Id == id, ct) ?? throw ProblemException.NotFound("Template");

    private static TemplateView View(Template t) => new(t.Id, t.Name, t.Body, t.Class, TemplateText.Variables(t.Body), t.CreatedAt, t.UpdatedAt);
}
