// SPDX-License-Identifier: Apache-2.0
import { render } from "solid-js/web";
import { App } from "./app";
import "./style.css";

render(() => <App />, document.getElementById("root")!);
