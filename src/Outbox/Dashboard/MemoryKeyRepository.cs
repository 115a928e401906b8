using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace Outbox.Dashboard;

/// <summary>
/// Keeps the keys that sign the dashboard's CSRF tokens in memory only, so nothing is written to
/// the service user's home directory; a restart makes new keys, and an open form is then reloaded.
/// </summary>
public sealed class MemoryKeyRepository : IXmlRepository
{
    private readonly Lock _lock = new();
    private readonly List<XElement> _keys = [];

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        lock (_lock)
        {
            return _keys.Select(k => new XElement(k)).ToList();
        }
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        ArgumentNullException.ThrowIfNull(element);
        lock (_lock)
        {
            _keys.Add(new XElement(element));
        }
    }
}
