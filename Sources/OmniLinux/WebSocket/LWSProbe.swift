import COmniShim
import CLibWebSockets
import Glibc

func probe() {
    _ = omni_lws_pre()
    var info = lws_context_creation_info()
    info.options = UInt64(LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS)
    info.port = CONTEXT_PORT_NO_LISTEN
    var ci = lws_client_connect_info()
    ci.ssl_connection = Int32(LCCSCF_USE_SSL.rawValue)
    _ = LWS_TO_KILL_ASYNC
    let r: lws_callback_reasons = LWS_CALLBACK_CLIENT_WRITEABLE
    _ = r
    _ = LLL_ERR
    _ = WSI_TOKEN_COUNT
    _ = info; _ = ci
}
