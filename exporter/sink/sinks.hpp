#pragma once
// The transports behind make_sink(); internal to exporter/sink.

#include "exporter/sink/message_sink.hpp"

namespace ioam::exporter::sink {

MessageSinkPtr make_udp_sink(boost::asio::io_context& io, const CollectorUri& uri,
                             const SinkOptions& options, TemplateProvider templates);
MessageSinkPtr make_tcp_sink(boost::asio::io_context& io, const CollectorUri& uri,
                             const SinkOptions& options, TemplateProvider templates);

}  // namespace ioam::exporter::sink
