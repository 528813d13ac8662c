// Umbrella header: everything a user of ipcx needs.
#pragma once

#include "ipcx/client.hpp"
#include "ipcx/endpoint.hpp"
#include "ipcx/error.hpp"
#include "ipcx/events.hpp"
#include "ipcx/mechanism.hpp"
#include "ipcx/message.hpp"
#include "ipcx/options.hpp"
#include "ipcx/peer.hpp"
#include "ipcx/pipeline.hpp"
#include "ipcx/proxy.hpp"
#include "ipcx/pubsub.hpp"
#include "ipcx/result.hpp"
#include "ipcx/server.hpp"
#include "ipcx/version.hpp"
