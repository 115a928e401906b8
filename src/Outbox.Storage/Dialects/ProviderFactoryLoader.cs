using System.Data.Common;
using System.Reflection;
using Outbox.Core.Validation;

namespace Outbox.Storage.Dialects;

/// <summary>
/// Finds an ADO.NET driver by type name at run time, as Quartz.NET does, so that a driver this
/// project cannot ship (Oracle's) is needed only by the users who use it.
/// </summary>
internal static class ProviderFactoryLoader
{
    /// <param name="factoryType">The assembly-qualified name of the driver's DbProviderFactory.</param>
    /// <param name="howToAdd">What to do when it is missing, for the one-line error.</param>
    public static DbProviderFactory Load(string factoryType, string provider, string package, string howToAdd)
    {
        var type = Type.GetType(factoryType, throwOnError: false);
        if (type is null)
        {
            throw new MailValidationException("Outbox:Database:Provider",
                $"{provider} needs the {package} driver, which is not part of this build of outbox",
                howToAdd);
        }

        // Every ADO.NET provider factory exposes its singleton as a public static field "Instance".
        var instance = type.GetField("Instance", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as DbProviderFactory;
        return instance ?? throw new MailValidationException("Outbox:Database:Provider",
            $"{type.AssemblyQualifiedName} has no static Instance field, so it is not a usable {package} driver",
            howToAdd);
    }
}
